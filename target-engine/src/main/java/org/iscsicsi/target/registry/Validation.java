package org.iscsicsi.target.registry;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;
import org.iscsicsi.target.names.IscsiNames;

/** Checks of admin input, each failing with an INVALID_ARGUMENT {@link RegistryException}. */
final class Validation {

  /** Flat LUN addressing (SAM-5 4.7.7) reaches 16383. */
  static final int MAX_LUN = 16_383;
  static final int MAX_LABELS = 64;
  private static final Pattern SNAPSHOT_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._/-]{0,252}"
      + "[A-Za-z0-9])?");

  private Validation() {
  }

  static String targetName(String name) {
    try {
      return IscsiNames.validate(name);
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid("target name: " + e.getMessage());
    }
  }

  /** A portal group tag: 1-65535, or 0 for {@code fallback}. */
  static int portalGroupTag(int tag, int fallback) {
    if (tag == 0) {
      return fallback;
    }
    if (tag < 1 || tag > 0xffff) {
      throw RegistryException.invalid("portal group tag " + tag + " is outside 1..65535");
    }
    return tag;
  }

  /** An ALUA port slot: 1-65535, or 0 for none. */
  static int portSlot(int slot) {
    if (slot < 0 || slot > org.iscsicsi.target.scsi.AluaGroups.MAX_SLOT) {
      throw RegistryException.invalid("port slot " + slot + " is outside 0.."
          + org.iscsicsi.target.scsi.AluaGroups.MAX_SLOT);
    }
    return slot;
  }

  static int lun(int lun) {
    if (lun < 0 || lun > MAX_LUN) {
      throw RegistryException.invalid("LUN " + lun + " is outside 0.." + MAX_LUN);
    }
    return lun;
  }

  static int blockSize(int blockSize) {
    if (blockSize == 0) {
      return 512;
    }
    if (blockSize != 512 && blockSize != 4096) {
      throw RegistryException.invalid("block size " + blockSize + " is not 512 or 4096");
    }
    return blockSize;
  }

  static long size(long size, int blockSize) {
    if (size <= 0) {
      throw RegistryException.invalid("size " + size + " must be greater than 0");
    }
    if (size % blockSize != 0) {
      throw RegistryException.invalid("size " + size + " is not a multiple of the block size "
          + blockSize);
    }
    return size;
  }

  static String alias(String alias) {
    if (alias == null) {
      return "";
    }
    if (alias.getBytes(StandardCharsets.UTF_8).length > 255) {
      throw RegistryException.invalid("alias is longer than 255 bytes");
    }
    if (alias.codePoints().anyMatch(Character::isISOControl)) {
      throw RegistryException.invalid("alias contains control characters");
    }
    return alias;
  }

  static Map<String, String> labels(Map<String, String> labels) {
    if (labels.size() > MAX_LABELS) {
      throw RegistryException.invalid("more than " + MAX_LABELS + " labels");
    }
    for (var e : labels.entrySet()) {
      if (!LABEL_KEY.matcher(e.getKey()).matches()) {
        throw RegistryException.invalid("label key '" + e.getKey() + "' is not 1-254 letters, "
            + "digits, '.', '_', '/', '-' starting and ending with a letter or digit");
      }
      if (e.getValue().length() > 1024) {
        throw RegistryException.invalid("label '" + e.getKey() + "' has a value over 1024 chars");
      }
    }
    return labels;
  }

  static String snapshotId(String id) {
    if (id == null || !SNAPSHOT_ID.matcher(id).matches()) {
      throw RegistryException.invalid("snapshot id '" + id + "' is not 1-128 letters, digits, "
          + "'.', '_', '-' starting with a letter or digit");
    }
    return id;
  }
}
