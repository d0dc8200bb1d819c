package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Frames the byte stream from an initiator into {@link InitiatorPdu}s (RFC 7143 section 11.2): BHS,
 * AHS, header digest, data segment with padding, data digest. Nothing is consumed until a whole PDU
 * is readable; the data segment is passed on as a retained slice (no copy), of the socket's read
 * buffers as they came (a composite when the PDU spans several reads).
 *
 * <p>Bad input never throws: the decoder emits an {@link InvalidPdu} carrying a failed
 * DecoderResult. Errors that leave framing intact (unknown opcode, data digest error) skip that PDU
 * and go on; errors that break framing (header digest error, data segment larger than the declared
 * MaxRecvDataSegmentLength) switch to {@link State#BAD_MESSAGE}, which discards everything after.
 */
public final class IscsiPduDecoder extends ByteToMessageDecoder {

  /** Where the decoder is within the current PDU. */
  public enum State { READ_BHS, READ_AHS, READ_HEADER_DIGEST, READ_DATA, READ_DATA_DIGEST,
    BAD_MESSAGE }

  private State state = State.READ_BHS;
  private int maxRecvDataSegmentLength;
  private boolean headerDigest;
  private boolean dataDigest;
  // lengths of the PDU being framed, valid after READ_BHS
  private int ahsLength;
  private int dataLength;
  private int headerEnd;

  /**
   * @param maxRecvDataSegmentLength the largest data segment accepted (the value this target
   *     declares as MaxRecvDataSegmentLength)
   */
  public IscsiPduDecoder(int maxRecvDataSegmentLength) {
    setMaxRecvDataSegmentLength(maxRecvDataSegmentLength);
    // a PDU spanning several socket reads is framed over the read buffers themselves, not copied
    // into one; its data segment (a slice, often held until a write completes) then keeps only
    // those buffers alive, and later reads are never copied to get around it
    setCumulator(COMPOSITE_CUMULATOR);
  }

  public void setMaxRecvDataSegmentLength(int value) {
    if (value < 512 || value > 0xffffff) {
      throw new IllegalArgumentException("MaxRecvDataSegmentLength out of range: " + value);
    }
    this.maxRecvDataSegmentLength = value;
  }

  /** Turns CRC32C digests on or off; called when login completes (section 13.1). */
  public void setDigests(boolean header, boolean data) {
    this.headerDigest = header;
    this.dataDigest = data;
  }

  public State state() {
    return state;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    switch (state) {
      case READ_BHS:
        if (in.readableBytes() < Bhs.LENGTH) {
          return;
        }
        ahsLength = in.getUnsignedByte(start + Bhs.OFF_TOTAL_AHS) * 4;
        dataLength = in.getUnsignedMedium(start + Bhs.OFF_DSL);
        state = State.READ_AHS;
        // fall through
      case READ_AHS:
        if (in.readableBytes() < Bhs.LENGTH + ahsLength) {
          return;
        }
        headerEnd = Bhs.LENGTH + ahsLength;
        state = State.READ_HEADER_DIGEST;
        // fall through
      case READ_HEADER_DIGEST:
        if (headerDigest) {
          if (in.readableBytes() < headerEnd + 4) {
            return;
          }
          int expected = IscsiDigest.crc32c(in, start, headerEnd, 0);
          if (in.getIntLE(start + headerEnd) != expected) {
            failDigest(in, out);
            return;
          }
          headerEnd += 4;
        }
        if (dataLength > maxRecvDataSegmentLength) {
          fail(in, out, RejectReason.PROTOCOL_ERROR, true, "data segment of " + dataLength
              + " bytes exceeds MaxRecvDataSegmentLength " + maxRecvDataSegmentLength);
          return;
        }
        state = State.READ_DATA;
        // fall through
      case READ_DATA:
        if (in.readableBytes() < headerEnd + dataLength + Bhs.padding(dataLength)) {
          return;
        }
        state = State.READ_DATA_DIGEST;
        // fall through
      case READ_DATA_DIGEST:
        int padded = dataLength + Bhs.padding(dataLength);
        int total = headerEnd + padded + (dataDigest && dataLength > 0 ? 4 : 0);
        if (in.readableBytes() < total) {
          return;
        }
        if (dataDigest && dataLength > 0) {
          int expected = IscsiDigest.crc32c(in, start + headerEnd, dataLength,
              Bhs.padding(dataLength));
          if (in.getIntLE(start + headerEnd + padded) != expected) {
            byte[] header = ByteBufUtil.getBytes(in, start, Bhs.LENGTH);
            in.skipBytes(total);
            state = State.READ_BHS;
            out.add(InvalidPdu.digestMismatch(RejectReason.DATA_DIGEST_ERROR, header, false,
                "data digest error"));
            return;
          }
        }
        emit(in, out, start, total);
        state = State.READ_BHS;
        return;
      case BAD_MESSAGE:
        in.skipBytes(in.readableBytes());
        return;
      default:
        throw new IllegalStateException("unknown state " + state);
    }
  }

  private void emit(ByteBuf in, List<Object> out, int start, int total) {
    ByteBuf data = dataLength == 0 ? Unpooled.EMPTY_BUFFER
        : in.retainedSlice(start + headerEnd, dataLength);
    ByteBuf bhs = in.slice(start, Bhs.LENGTH);
    ByteBuf ahs = in.slice(start + Bhs.LENGTH, ahsLength);
    InitiatorPdu pdu;
    try {
      pdu = InitiatorPdu.decode(bhs, ahs, data);
    } catch (RuntimeException e) {
      data.release();
      throw e;
    }
    if (pdu == null) {
      data.release();
      byte[] header = ByteBufUtil.getBytes(in, start, Bhs.LENGTH);
      in.skipBytes(total);
      out.add(InvalidPdu.of(RejectReason.COMMAND_NOT_SUPPORTED, header, false,
          "unsupported opcode 0x" + Integer.toHexString(header[0] & 0x3f)));
      return;
    }
    in.skipBytes(total);
    out.add(pdu);
  }

  private void fail(ByteBuf in, List<Object> out, RejectReason reason, boolean fatal,
      String message) {
    out.add(InvalidPdu.of(reason, giveUp(in), fatal, message));
  }

  /** A header digest mismatch: the header itself cannot be trusted, so framing is lost. */
  private void failDigest(ByteBuf in, List<Object> out) {
    out.add(InvalidPdu.digestMismatch(RejectReason.PROTOCOL_ERROR, giveUp(in), true,
        "header digest error"));
  }

  /** The header at the reader index; everything after it is discarded for good. */
  private byte[] giveUp(ByteBuf in) {
    byte[] header = ByteBufUtil.getBytes(in, in.readerIndex(), Bhs.LENGTH);
    in.skipBytes(in.readableBytes());
    state = State.BAD_MESSAGE;
    return header;
  }
}
