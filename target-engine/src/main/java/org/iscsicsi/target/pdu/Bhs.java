package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;

/** Offsets and helpers of the 48-byte basic header segment (RFC 7143 section 11.2.1). */
final class Bhs {

  static final int LENGTH = 48;
  static final int OFF_FLAGS = 1;
  static final int OFF_TOTAL_AHS = 4;
  static final int OFF_DSL = 5;
  static final int OFF_LUN = 8;
  static final int OFF_ITT = 16;

  private Bhs() {
  }

  static int dataSegmentLength(ByteBuf bhs, int base) {
    return bhs.getUnsignedMedium(base + OFF_DSL);
  }

  /** Writes opcode, flags and lengths; the other 40 bytes are zero until set. */
  static int start(ByteBuf out, int opcodeByte, int flags, int dataSegmentLength) {
    int base = out.writerIndex();
    out.writeByte(opcodeByte);
    out.writeByte(flags);
    out.writeZero(2);
    out.writeByte(0);
    out.writeMedium(dataSegmentLength);
    out.writeZero(LENGTH - 8);
    return base;
  }

  static int padding(int length) {
    return (4 - (length & 3)) & 3;
  }
}
