package org.iscsicsi.target.scsi;

/**
 * The LOGICAL BLOCK ADDRESS and TRANSFER LENGTH (or NUMBER OF LOGICAL BLOCKS) of a block command,
 * from the CDB layouts of SBC-3: 6-byte (21-bit LBA; length 0 means 256), 10-, 12- and 16-byte.
 */
record BlockRange(long lba, long blocks) {

  static BlockRange of(byte[] cdb) {
    int opcode = cdb[0] & 0xff;
    return switch (opcode >>> 5) {
      case 0 -> {
        int n = Cdb.u8(cdb, 4);
        yield new BlockRange(Cdb.u24(cdb, 1) & 0x1fffff, n == 0 ? 256 : n);
      }
      case 1, 2 -> new BlockRange(Cdb.u32(cdb, 2), Cdb.u16(cdb, 7));
      case 5 -> new BlockRange(Cdb.u32(cdb, 2), Cdb.u32(cdb, 6));
      case 4 -> new BlockRange(Cdb.u64(cdb, 2), Cdb.u32(cdb, 10));
      default -> throw new IllegalArgumentException("not a block command: " + opcode);
    };
  }
}
