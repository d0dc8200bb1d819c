# Points JAVA_HOME (and PATH) at a JDK 25 unless JAVA_HOME already names one; fails (status 1)
# when there is none. Source it before ./mvnw: `. bin/java-home.sh`. The build needs JDK 25 and
# Debian's default java is 17. .ci/run sources it too.
_jdk_ok() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -q 'version "25'; }
if [ -z "${JAVA_HOME:-}" ] || ! _jdk_ok "$JAVA_HOME"; then
  JAVA_HOME=
  for d in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do
    if _jdk_ok "$d"; then JAVA_HOME=$d; break; fi
  done
  [ -n "$JAVA_HOME" ] || return 1
fi
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
