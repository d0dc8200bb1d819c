package org.iscsicsi.target.transfer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import java.util.zip.CRC32C;

/** Writes {@link Frame}s in the layout {@link FrameDecoder} reads. */
public final class FrameEncoder extends MessageToByteEncoder<Frame> {

  public FrameEncoder() {
    super(Frame.class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Frame f, ByteBuf out) {
    write(f, out);
  }

  /** Appends the frame's bytes to {@code out}. */
  public static void write(Frame f, ByteBuf out) {
    int start = out.writerIndex();
    out.writeInt(Frame.MAGIC);
    out.writeByte(Frame.VERSION);
    out.writeByte(f.type().code());
    out.writeShort(f.flags());
    out.writeLong(f.epoch());
    out.writeLong(f.seq());
    out.writeLong(f.commit());
    out.writeLong(f.offset());
    out.writeInt(f.payload().length);
    out.writeInt(crc(out, start, Frame.HEADER_BYTES - Frame.CRC_BYTES));
    if (f.payload().length > 0) {
      out.writeBytes(f.payload());
      CRC32C c = new CRC32C();
      c.update(f.payload());
      out.writeInt((int) c.getValue());
    }
  }

  static int crc(ByteBuf buf, int index, int length) {
    CRC32C c = new CRC32C();
    c.update(buf.nioBuffer(index, length));
    return (int) c.getValue();
  }
}
