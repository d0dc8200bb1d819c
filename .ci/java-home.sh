# Sourced by scripts: points JAVA_HOME at a JDK 25 unless it already names one.
_jdk_ok() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -q 'version "25'; }
if [ -z "${JAVA_HOME:-}" ] || ! _jdk_ok "$JAVA_HOME"; then
  JAVA_HOME=
  for d in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do
    if _jdk_ok "$d"; then JAVA_HOME=$d; break; fi
  done
  [ -n "$JAVA_HOME" ] || return 1
fi
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
