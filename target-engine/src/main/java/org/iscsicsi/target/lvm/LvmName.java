package org.iscsicsi.target.lvm;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Names of LVM volume groups and logical volumes as lvm(8) accepts them ("Valid names" in lvm(8)):
 * letters, digits and {@code + _ . -}, not starting with {@code -}, not {@code .} or {@code ..},
 * at most 127 characters, and for LVs none of the names and parts LVM keeps for its own hidden
 * volumes. Checked before a name reaches an argv, so that no operator's string becomes an option.
 */
public final class LvmName {

  /** lvm(8): "The length of a name is limited to 127 characters". */
  static final int MAX_LENGTH = 127;
  private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9+_.][A-Za-z0-9+_.-]*");
  /** Substrings LVM refuses in LV names (its sub-LVs); lvm(8) "Valid names". */
  private static final List<String> RESERVED_PARTS = List.of("_cdata", "_cmeta", "_corig",
      "_cpool", "_cvol", "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
      "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig");
  private static final List<String> RESERVED_NAMES = List.of("snapshot", "pvmove");

  private LvmName() {
  }

  /** Returns {@code name} if it is a valid volume group name, else throws. */
  public static String vg(String name) {
    return common("volume group", name);
  }

  /** Returns {@code name} if it is a valid logical volume name, else throws. */
  public static String lv(String name) {
    common("logical volume", name);
    for (String r : RESERVED_NAMES) {
      if (name.startsWith(r)) {
        throw new IllegalArgumentException("logical volume name \"" + name + "\" starts with \""
            + r + "\", which LVM reserves");
      }
    }
    for (String r : RESERVED_PARTS) {
      if (name.contains(r)) {
        throw new IllegalArgumentException("logical volume name \"" + name + "\" contains \""
            + r + "\", which LVM reserves for its own volumes");
      }
    }
    return name;
  }

  private static String common(String what, String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException(what + " name is empty");
    }
    if (name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(what + " name is longer than " + MAX_LENGTH
          + " characters: " + name.length());
    }
    if (name.equals(".") || name.equals("..") || !ALLOWED.matcher(name).matches()) {
      throw new IllegalArgumentException(what + " name \"" + printable(name) + "\" is not "
          + "valid: LVM allows letters, digits and + _ . - (not first), not . or ..");
    }
    return name;
  }

  /** The name with control characters shown as {@code ?}, for an error message. */
  private static String printable(String s) {
    return s.codePoints().map(c -> c < 0x20 || c == 0x7f ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
        .toString();
  }
}
