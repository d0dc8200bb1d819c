package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes {@link TargetPdu}s: a pooled header buffer (BHS and header digest), then the data segment
 * itself (no copy: it goes to the socket as a separate buffer, gathered by the transport, or as a
 * file region sent with {@code sendfile(2)}), then padding and data digest.
 */
public final class IscsiPduEncoder extends MessageToMessageEncoder<TargetPdu> {

  private boolean headerDigest;
  private boolean dataDigest;

  public IscsiPduEncoder() {
    super(TargetPdu.class);
  }

  /** Turns CRC32C digests on or off; called when login completes (section 13.1). */
  public void setDigests(boolean header, boolean data) {
    this.headerDigest = header;
    this.dataDigest = data;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, TargetPdu pdu, List<Object> out) {
    if (pdu instanceof TargetPdu.DataIn d && d.file() != null) {
      encodeFileDataIn(ctx, d, out);
      return;
    }
    ByteBuf data = pdu.data();
    int length = data.readableBytes();
    int pad = Bhs.padding(length);
    int trailer = pad + (dataDigest && length > 0 ? 4 : 0);
    boolean inline = length > 0 && length <= 512;
    ByteBuf header = ctx.alloc().ioBuffer(Bhs.LENGTH + (headerDigest ? 4 : 0)
        + (inline ? length + trailer : 0));
    pdu.encodeHeader(header);
    if (headerDigest) {
      header.writeIntLE(IscsiDigest.crc32c(header, 0, Bhs.LENGTH, 0));
    }
    if (length == 0) {
      out.add(header);
      return;
    }
    if (inline) {
      // small segments (sense data, text, login keys) are cheaper copied than gathered
      header.writeBytes(data, data.readerIndex(), length);
    } else {
      out.add(header);
      out.add(data.retain());
    }
    ByteBuf tail = inline ? header : ctx.alloc().ioBuffer(trailer);
    tail.writeZero(pad);
    if (dataDigest) {
      tail.writeIntLE(IscsiDigest.crc32c(data, data.readerIndex(), length, pad));
    }
    if (inline) {
      out.add(header);
    } else if (tail.isReadable()) {
      out.add(tail);
    } else {
      tail.release();
    }
  }

  /**
   * Data-In from a file range: the header (BHS and header digest) as a small buffer, then the
   * region itself for {@code sendfile(2)}, then any padding. A data digest would need the bytes,
   * so the sender never uses file ranges with DataDigest=CRC32C.
   */
  private void encodeFileDataIn(ChannelHandlerContext ctx, TargetPdu.DataIn pdu,
      List<Object> out) {
    if (dataDigest) {
      throw new IllegalStateException("Data-In from a file cannot carry a data digest");
    }
    int length = pdu.segmentLength();
    ByteBuf header = ctx.alloc().ioBuffer(Bhs.LENGTH + (headerDigest ? 4 : 0));
    pdu.encodeHeader(header);
    if (headerDigest) {
      header.writeIntLE(IscsiDigest.crc32c(header, 0, Bhs.LENGTH, 0));
    }
    out.add(header);
    if (length > 0) {
      out.add(pdu.file().retain());
    }
    int pad = Bhs.padding(length);
    if (pad > 0) {
      out.add(ctx.alloc().ioBuffer(pad).writeZero(pad));
    }
  }
}
