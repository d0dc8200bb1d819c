package org.iscsicsi.node.fs;

import java.util.Optional;

/**
 * What blkid found on a device: a filesystem (TYPE, UUID), or another signature such as a
 * partition table (PTTYPE), or nothing at all (a blank disk, the only kind we format).
 */
public record FsProbe(Optional<String> type, Optional<String> uuid, Optional<String> ptType) {

  public static final FsProbe BLANK = new FsProbe(Optional.empty(), Optional.empty(),
      Optional.empty());

  public boolean blank() {
    return type.isEmpty() && ptType.isEmpty();
  }
}
