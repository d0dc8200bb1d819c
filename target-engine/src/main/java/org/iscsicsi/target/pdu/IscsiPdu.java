package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.util.ReferenceCounted;

/**
 * An iSCSI PDU (RFC 7143 section 11): a 48-byte basic header segment plus a data segment. Each PDU
 * kind is an immutable record; reference counting delegates to the data segment, so the usual
 * netty release rules apply to a PDU as a whole.
 */
public sealed interface IscsiPdu extends ReferenceCounted, DecoderResultProvider
    permits InitiatorPdu, TargetPdu, InvalidPdu {

  IscsiOpcode opcode();

  /** The Initiator Task Tag (0xffffffff when reserved). */
  int itt();

  /** The data segment (never null; an empty buffer when there is none). */
  ByteBuf data();

  @Override
  default DecoderResult decoderResult() {
    return DecoderResult.SUCCESS;
  }

  @Override
  default void setDecoderResult(DecoderResult result) {
    throw new UnsupportedOperationException("PDUs are immutable");
  }

  @Override
  default int refCnt() {
    return data().refCnt();
  }

  @Override
  default IscsiPdu retain() {
    data().retain();
    return this;
  }

  @Override
  default IscsiPdu retain(int increment) {
    data().retain(increment);
    return this;
  }

  @Override
  default IscsiPdu touch() {
    data().touch();
    return this;
  }

  @Override
  default IscsiPdu touch(Object hint) {
    data().touch(hint);
    return this;
  }

  @Override
  default boolean release() {
    return data().release();
  }

  @Override
  default boolean release(int decrement) {
    return data().release(decrement);
  }
}
