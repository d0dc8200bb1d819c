package org.iscsicsi.csi.exec;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Validation of values that end up in host-command argv. Each check throws
 * {@link IllegalArgumentException} with a message naming the value, so callers can map it to
 * INVALID_ARGUMENT. Values must not start with '-' (they would be read as options).
 */
public final class Args {

  /** RFC 7143 section 4.2.7.2 iqn. names, plus eui. and naa. forms; lower case. */
  private static final Pattern IQN = Pattern.compile(
      "(iqn\\.\\d{4}-\\d{2}\\.[a-z0-9][a-z0-9.-]*(:[\\x21-\\x7e&&[^\\s]]{1,200})?"
          + "|eui\\.[0-9A-Fa-f]{16}|naa\\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)");
  private static final Pattern HOST = Pattern.compile(
      "[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\\[[0-9A-Fa-f:.]+\\]");
  private static final Pattern FS_OPTION = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_=.:/,+-]*");
  private static final Pattern SETTING = Pattern.compile("[a-z][a-z0-9_.\\[\\]]*");
  /** An SELinux level: a sensitivity and an optional category set (s0:c1,c7 or s0:c0.c1023). */
  private static final String SELINUX_LEVEL = "s[0-9]{1,4}(:c[0-9]{1,4}([.,]c[0-9]{1,4})*)?";
  /**
   * SELinux's mount options with a label user:role:type[:level[-level]], double-quoted as kubelet
   * passes them (seLinuxMount), because an MLS category set holds commas.
   */
  private static final Pattern SELINUX_OPTION = Pattern.compile(
      "(context|fscontext|defcontext|rootcontext)=\"[A-Za-z0-9_.]+:[A-Za-z0-9_.]+:[A-Za-z0-9_.]+"
          + "(:" + SELINUX_LEVEL + "(-" + SELINUX_LEVEL + ")?)?\"");

  private Args() {}

  public static void noControlChars(String what, String value) {
    if (value == null) {
      throw new IllegalArgumentException(what + " is missing");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw new IllegalArgumentException(what + " contains a control character");
      }
    }
  }

  /** An iSCSI name (iqn./eui./naa.). */
  public static String iscsiName(String what, String value) {
    noControlChars(what, value);
    if (!IQN.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " is not a valid iSCSI name: '" + value + "'");
    }
    return value;
  }

  /** A host name or IPv4 address, or a bracketed IPv6 address. */
  public static String host(String what, String value) {
    noControlChars(what, value);
    if (!HOST.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " is not a valid host: '" + value + "'");
    }
    return value;
  }

  /** An absolute, normalized path without '..'. */
  public static Path absolutePath(String what, String value) {
    noControlChars(what, value);
    if (value.isEmpty()) {
      throw new IllegalArgumentException(what + " is missing");
    }
    Path p = Path.of(value);
    if (!p.isAbsolute() || !p.normalize().equals(p) || value.contains("/../")
        || value.endsWith("/..")) {
      throw new IllegalArgumentException(what + " must be an absolute, normalized path: '"
          + value + "'");
    }
    return p;
  }

  /**
   * One mount option or a comma-separated list of them, or one SELinux context option with its
   * label in double quotes ({@code context="system_u:object_r:container_file_t:s0:c1,c7"}).
   */
  public static String mountOption(String value) {
    noControlChars("mount option", value);
    if (!FS_OPTION.matcher(value).matches() && !SELINUX_OPTION.matcher(value).matches()) {
      throw new IllegalArgumentException("invalid mount option: '" + value + "'");
    }
    return value;
  }

  /** An open-iscsi setting name such as node.session.auth.username. */
  public static String setting(String value) {
    if (value == null || !SETTING.matcher(value).matches()) {
      throw new IllegalArgumentException("invalid iscsiadm setting name: '" + value + "'");
    }
    return value;
  }

  /** A value that must not look like an option and must be free of control characters. */
  public static String plain(String what, String value) {
    noControlChars(what, value);
    if (value.startsWith("-")) {
      throw new IllegalArgumentException(what + " must not start with '-'");
    }
    return value;
  }
}
