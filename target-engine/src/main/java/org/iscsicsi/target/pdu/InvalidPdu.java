package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;

/**
 * What the decoder emits instead of throwing on bad input (the netty codec convention): a failed
 * {@link DecoderResult} with the reason to put in a Reject PDU (RFC 7143 section 11.17).
 *
 * @param header the offending BHS (48 bytes) when one was read, else an empty array; becomes the
 *     Reject PDU's data segment
 * @param fatal the byte stream can no longer be framed (bad header digest, oversized segment,
 *     garbage): the connection must close after the Reject
 * @param digestError a header or data digest (CRC32C) did not match: the bytes were damaged on
 *     the way, which the connection counts apart from protocol errors
 */
public record InvalidPdu(RejectReason reason, byte[] header, int itt, boolean fatal,
    boolean digestError, DecoderResult decoderResult) implements IscsiPdu {

  public InvalidPdu {
    header = header.clone();
  }

  static InvalidPdu of(RejectReason reason, byte[] header, boolean fatal, String message) {
    return of(reason, header, fatal, false, message);
  }

  /** A PDU whose header or data digest did not match. */
  static InvalidPdu digestMismatch(RejectReason reason, byte[] header, boolean fatal,
      String message) {
    return of(reason, header, fatal, true, message);
  }

  private static InvalidPdu of(RejectReason reason, byte[] header, boolean fatal,
      boolean digestError, String message) {
    int itt = header.length >= Bhs.LENGTH ? Unpooled.wrappedBuffer(header).getInt(Bhs.OFF_ITT) : -1;
    return new InvalidPdu(reason, header, itt, fatal, digestError,
        DecoderResult.failure(new IllegalArgumentException(message)));
  }

  @Override
  public byte[] header() {
    return header.clone();
  }

  /** The opcode byte of the offending header, or null when none was read or it is undefined. */
  @Override
  public IscsiOpcode opcode() {
    return header.length == 0 ? null : IscsiOpcode.of(header[0] & 0x3f);
  }

  @Override
  public ByteBuf data() {
    return Unpooled.EMPTY_BUFFER;
  }

  /** Why decoding failed. */
  public String message() {
    return decoderResult.cause().getMessage();
  }
}
