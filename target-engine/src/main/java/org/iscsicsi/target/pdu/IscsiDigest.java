package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C header and data digests (RFC 7143 sections 11.1 and 13.1). The 32-bit value goes on the
 * wire least significant byte first, as Linux and libiscsi send it (RFC 3720 appendix B.4: 32 zero
 * bytes give aa 36 91 8a).
 */
public final class IscsiDigest {

  private static final byte[] ZEROS = new byte[4];

  private IscsiDigest() {
  }

  /** CRC32C of {@code length} readable bytes at {@code index}, plus {@code pad} zero bytes. */
  public static int crc32c(ByteBuf buf, int index, int length, int pad) {
    CRC32C crc = new CRC32C();
    if (length > 0) {
      if (buf.nioBufferCount() == 1) {
        crc.update(buf.nioBuffer(index, length));
      } else {
        for (ByteBuffer part : buf.nioBuffers(index, length)) {
          crc.update(part);
        }
      }
    }
    if (pad > 0) {
      crc.update(ZEROS, 0, pad);
    }
    return (int) crc.getValue();
  }
}
