package org.iscsicsi.target.scsi;

/**
 * How many bytes of Data-Out a CDB itself describes, so that the iSCSI layer can report residual
 * overflow and underflow against the expected data transfer length (RFC 7143 11.4.5).
 */
final class DataOutLength {

  private static final int MIN_CDB = 16;

  private DataOutLength() {
  }

  /** The CDB's Data-Out length in bytes, or -1 when the command carries no Data-Out. */
  static int of(byte[] shortCdb, int blockSize) {
    // iSCSI CDBs have at least 16 bytes; only shorter test fixtures are padded
    byte[] cdb = shortCdb.length >= MIN_CDB ? shortCdb
        : java.util.Arrays.copyOf(shortCdb, MIN_CDB);
    int opcode = cdb[0] & 0xff;
    return switch (opcode) {
      case 0x0a, 0x2a, 0xaa, 0x8a, 0x2e, 0xae, 0x8e, 0x8b ->
          clamp(BlockRange.of(cdb).blocks() * blockSize);
      case 0x2f, 0xaf, 0x8f -> switch ((cdb[1] >>> 1) & 0x03) {
        case 1 -> clamp(BlockRange.of(cdb).blocks() * blockSize);
        case 3 -> blockSize;
        default -> -1;
      };
      case 0x41 -> blockSize;
      case 0x93 -> (cdb[1] & 0x01) != 0 ? 0 : blockSize;
      case 0x89 -> 2 * Cdb.u8(cdb, 13) * blockSize;
      case 0x42, 0x55 -> Cdb.u16(cdb, 7);
      case 0x15 -> Cdb.u8(cdb, 4);
      case 0x5f -> clamp(Cdb.u32(cdb, 5));
      default -> -1;
    };
  }

  private static int clamp(long n) {
    return (int) Math.min(Integer.MAX_VALUE, n);
  }
}
