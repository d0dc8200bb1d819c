package org.iscsicsi.target.transfer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Frames the byte stream of a replication connection into {@link Frame}s. Nothing is consumed
 * until a whole frame is readable, and the declared payload length is checked against the type's
 * limit before any of it is buffered, so a peer cannot make the decoder hold more than one
 * largest frame (a region, 4 MiB).
 *
 * <p>Bad input never throws: a wrong magic or version, an unknown type, a header or payload CRC
 * mismatch or an oversized length emits one {@link BadFrame} with the reason and switches to
 * {@link State#BAD_FRAME}, which discards everything after (framing cannot be trusted again).
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  /** Where the decoder is within the current frame. */
  public enum State { READ_HEADER, READ_PAYLOAD, BAD_FRAME }

  /** What the decoder emits for input that breaks the protocol; the connection must close. */
  public record BadFrame(String reason) {
  }

  private State state = State.READ_HEADER;
  private FrameType type;
  private int flags;
  private long epoch;
  private long seq;
  private long commit;
  private long offset;
  private int length;

  public State state() {
    return state;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case READ_HEADER:
        if (in.readableBytes() < Frame.HEADER_BYTES) {
          return;
        }
        String bad = readHeader(in);
        if (bad != null) {
          fail(in, out, bad);
          return;
        }
        state = State.READ_PAYLOAD;
        // fall through
      case READ_PAYLOAD:
        int total = length == 0 ? 0 : length + Frame.CRC_BYTES;
        if (in.readableBytes() < total) {
          return;
        }
        byte[] payload = new byte[length];
        if (length > 0) {
          in.readBytes(payload);
          CRC32C c = new CRC32C();
          c.update(payload);
          if (in.readInt() != (int) c.getValue()) {
            fail(in, out, type + " payload CRC32C mismatch");
            return;
          }
        }
        out.add(new Frame(type, flags, epoch, seq, commit, offset, payload));
        state = State.READ_HEADER;
        return;
      case BAD_FRAME:
        in.skipBytes(in.readableBytes());
        return;
      default:
        throw new IllegalStateException("unknown state " + state);
    }
  }

  /** Reads and checks the header at the reader index; the reason when it is bad, else null. */
  private String readHeader(ByteBuf in) {
    int start = in.readerIndex();
    int expected = FrameEncoder.crc(in, start, Frame.HEADER_BYTES - Frame.CRC_BYTES);
    if (in.getInt(start) != Frame.MAGIC) {
      return "bad magic 0x" + Integer.toHexString(in.getInt(start)) + " (not a replication "
          + "frame)";
    }
    if (in.getUnsignedByte(start + 4) != Frame.VERSION) {
      return "unsupported frame version " + in.getUnsignedByte(start + 4);
    }
    if (in.getInt(start + 44) != expected) {
      return "header CRC32C mismatch";
    }
    int code = in.getUnsignedByte(start + 5);
    Optional<FrameType> t = FrameType.of(code);
    if (t.isEmpty()) {
      return "unknown frame type 0x" + Integer.toHexString(code);
    }
    long declared = in.getUnsignedInt(start + 40);
    if (declared > t.get().maxPayload()) {
      return t.get() + " declares " + declared + " payload bytes, more than its limit "
          + t.get().maxPayload();
    }
    type = t.get();
    flags = in.getUnsignedShort(start + 6);
    epoch = in.getLong(start + 8);
    seq = in.getLong(start + 16);
    commit = in.getLong(start + 24);
    offset = in.getLong(start + 32);
    length = (int) declared;
    in.skipBytes(Frame.HEADER_BYTES);
    return null;
  }

  private void fail(ByteBuf in, List<Object> out, String reason) {
    in.skipBytes(in.readableBytes());
    state = State.BAD_FRAME;
    out.add(new BadFrame(reason));
  }
}
