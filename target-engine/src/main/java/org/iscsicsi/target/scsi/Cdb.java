package org.iscsicsi.target.scsi;

/** Big-endian field access for CDBs and parameter lists. */
final class Cdb {

  private Cdb() {
  }

  /**
   * The length of a CDB by its operation code's group (SPC-4 4.2.5.1): 6 bytes for group 0, 10
   * for groups 1 and 2, 16 for group 4, 12 for group 5; 6 for the reserved, variable-length and
   * vendor-specific groups, none of which this device supports.
   */
  static int groupLength(int opcode) {
    return switch (opcode >>> 5) {
      case 1, 2 -> 10;
      case 4 -> 16;
      case 5 -> 12;
      default -> 6;
    };
  }

  static int u8(byte[] b, int off) {
    return b[off] & 0xff;
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
  }

  static int u24(byte[] b, int off) {
    return (b[off] & 0xff) << 16 | u16(b, off + 1);
  }

  static long u32(byte[] b, int off) {
    return ((long) (b[off] & 0xff) << 24) | u24(b, off + 1);
  }

  static long u64(byte[] b, int off) {
    return u32(b, off) << 32 | u32(b, off + 4);
  }

  static void put16(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 8);
    b[off + 1] = (byte) v;
  }

  static void put32(byte[] b, int off, long v) {
    b[off] = (byte) (v >>> 24);
    b[off + 1] = (byte) (v >>> 16);
    b[off + 2] = (byte) (v >>> 8);
    b[off + 3] = (byte) v;
  }

  static void put64(byte[] b, int off, long v) {
    put32(b, off, v >>> 32);
    put32(b, off + 4, v);
  }
}
