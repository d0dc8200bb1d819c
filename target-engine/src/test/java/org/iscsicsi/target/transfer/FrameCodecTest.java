package org.iscsicsi.target.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The replication frame codec against byte fixtures written out by hand: the header layout of
 * docs/replication.md section 3 (magic, version, type, flags, epoch, seq, commit, offset, length,
 * CRC32C), frames split over reads, and every way a hostile peer can break framing (bad magic,
 * version, type, CRCs, a length above the type's limit) answered by one {@link
 * FrameDecoder.BadFrame} and nothing else from that connection.
 */
class FrameCodecTest {

  /** REGION_WANT for image 2 asking for region 5, as the header table lays it out. */
  private static byte[] regionWantFixture() {
    ByteBuffer b = ByteBuffer.allocate(48 + 4 + 4);
    b.putInt(0x49534352).put((byte) 1).put((byte) 0x11).putShort((short) 0);
    b.putLong(0).putLong(2).putLong(0).putLong(0).putInt(4);
    b.putInt(crc(b.array(), 0, 44));
    b.putInt(5);
    b.putInt(crc(b.array(), 48, 4));
    return b.array();
  }

  private static int crc(byte[] a, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(a, off, len);
    return (int) c.getValue();
  }

  /** The encoder writes exactly the fixture's bytes. */
  @Test
  void encodesTheDocumentedLayout() {
    ByteBuf out = Unpooled.buffer();
    FrameEncoder.write(Frame.of(FrameType.REGION_WANT, 2, 0, new byte[] {0, 0, 0, 5}), out);
    byte[] bytes = new byte[out.readableBytes()];
    out.readBytes(bytes);
    assertThat(HexFormat.of().formatHex(bytes))
        .isEqualTo(HexFormat.of().formatHex(regionWantFixture()));
    assertThat(HexFormat.of().formatHex(bytes, 0, 6)).isEqualTo("495343520111");
  }

  /** A frame fed one byte at a time decodes once, whole, with every header field. */
  @Test
  void decodesAFrameSplitOverReads() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    for (byte b : regionWantFixture()) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
    Frame f = ch.readInbound();
    assertThat(f.type()).isEqualTo(FrameType.REGION_WANT);
    assertThat(f.seq()).isEqualTo(2);
    assertThat(f.payload()).containsExactly(0, 0, 0, 5);
    assertThat((Object) ch.readInbound()).isNull();
  }

  /** A frame without payload has no payload CRC; two frames in one read both decode. */
  @Test
  void decodesBackToBackFramesWithoutPayload() {
    ByteBuf in = Unpooled.buffer();
    FrameEncoder.write(Frame.of(FrameType.HELLO_ACK, 0, 0, null), in);
    FrameEncoder.write(new Frame(FrameType.REGION_DATA, Frame.FLAG_HOLE, 7, 1, 3, 8 << 20,
        null), in);
    assertThat(in.readableBytes()).isEqualTo(96);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ch.writeInbound(in);
    assertThat(((Frame) ch.readInbound()).type()).isEqualTo(FrameType.HELLO_ACK);
    Frame data = ch.readInbound();
    assertThat(data.flags()).isEqualTo(Frame.FLAG_HOLE);
    assertThat(data.epoch()).isEqualTo(7);
    assertThat(data.commit()).isEqualTo(3);
    assertThat(data.offset()).isEqualTo(8 << 20);
  }

  /** A region of exactly 4 MiB passes; one byte more is refused from the header alone. */
  @Test
  void refusesARegionAboveFourMibBeforeBufferingIt() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ByteBuffer header = header(0x12, Frame.REGION_BYTES + 1);
    ch.writeInbound(Unpooled.wrappedBuffer(header.array()));
    FrameDecoder.BadFrame bad = ch.readInbound();
    assertThat(bad.reason()).isEqualTo("REGION_DATA declares 4194305 payload bytes, more than "
        + "its limit 4194304");
    ch.writeInbound(Unpooled.wrappedBuffer(regionWantFixture()));
    assertThat((Object) ch.readInbound()).as("nothing after a bad frame").isNull();

    ByteBuf full = Unpooled.buffer();
    FrameEncoder.write(Frame.of(FrameType.REGION_DATA, 0, 0, new byte[Frame.REGION_BYTES]),
        full);
    EmbeddedChannel ok = new EmbeddedChannel(new FrameDecoder());
    ok.writeInbound(full);
    assertThat(((Frame) ok.readInbound()).payload()).hasSize(Frame.REGION_BYTES);
  }

  /** Each kind of broken header or payload gets its own reason. */
  @Test
  void namesEachBrokenField() {
    byte[] magic = regionWantFixture();
    magic[0] = 0x50;
    assertThat(badReason(magic)).startsWith("bad magic 0x50534352");
    byte[] version = regionWantFixture();
    version[4] = 2;
    assertThat(badReason(version)).isEqualTo("unsupported frame version 2");
    byte[] headerCrc = regionWantFixture();
    headerCrc[20] ^= 1; // seq changed, CRC not
    assertThat(badReason(headerCrc)).isEqualTo("header CRC32C mismatch");
    byte[] payloadCrc = regionWantFixture();
    payloadCrc[51] = 6; // region 6, CRC of region 5
    assertThat(badReason(payloadCrc)).isEqualTo("REGION_WANT payload CRC32C mismatch");
    ByteBuffer unknown = header(0x7f, 0);
    assertThat(badReason(unknown.array())).isEqualTo("unknown frame type 0x7f");
    assertThat(badReason(header(0x01, Frame.MAX_HELLO_BYTES + 1).array()))
        .startsWith("HELLO declares 1048577 payload bytes");
  }

  private static ByteBuffer header(int type, int length) {
    ByteBuffer b = ByteBuffer.allocate(48);
    b.putInt(0x49534352).put((byte) 1).put((byte) type).putShort((short) 0);
    b.putLong(0).putLong(0).putLong(0).putLong(0).putInt(length);
    b.putInt(crc(b.array(), 0, 44));
    return b;
  }

  private static String badReason(byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ch.writeInbound(Unpooled.wrappedBuffer(input));
    Object o = ch.readInbound();
    assertThat(o).isInstanceOf(FrameDecoder.BadFrame.class);
    assertThat((Object) ch.readInbound()).isNull();
    return ((FrameDecoder.BadFrame) o).reason();
  }

  /**
   * The replica stream's frames: a FUA WRITE of epoch 7, seq 812 with the commit point, as the
   * header table lays it out byte by byte; then every replica-stream type round-trips with its
   * fields, and a NACK carries the member's epoch, the refused seq and the reason's code.
   */
  @Test
  void replicaStreamFramesHaveTheDocumentedLayoutAndRoundTrip() {
    ByteBuf out = Unpooled.buffer();
    byte[] data = {1, 2, 3, 4, 5, 6, 7, 8};
    FrameEncoder.write(new Frame(FrameType.WRITE, 0x0001, 7, 812, 800, 4096, data), out);
    ByteBuffer want = ByteBuffer.allocate(48 + data.length + 4);
    want.putInt(0x49534352).put((byte) 1).put((byte) 0x03).putShort((short) 1);
    want.putLong(7).putLong(812).putLong(800).putLong(4096).putInt(data.length);
    want.putInt(crc(want.array(), 0, 44));
    want.put(data);
    want.putInt(crc(want.array(), 48, data.length));
    byte[] bytes = new byte[out.readableBytes()];
    out.getBytes(0, bytes);
    assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(HexFormat.of().formatHex(want.array()));

    assertThat(FrameType.of(0x03)).contains(FrameType.WRITE);
    assertThat(FrameType.of(0x04)).contains(FrameType.UNMAP);
    assertThat(FrameType.of(0x06)).contains(FrameType.FLUSH);
    assertThat(FrameType.of(0x09)).contains(FrameType.HEARTBEAT);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ch.writeInbound(out);
    Frame w = ch.readInbound();
    assertThat(w.type()).isEqualTo(FrameType.WRITE);
    assertThat(w.flags()).isEqualTo(1);
    assertThat(w.epoch()).isEqualTo(7);
    assertThat(w.seq()).isEqualTo(812);
    assertThat(w.commit()).isEqualTo(800);
    assertThat(w.offset()).isEqualTo(4096);
    assertThat(w.payload()).isEqualTo(data);

    byte[] pair = ByteBuffer.allocate(16).putLong(8192).putLong(65536).array();
    Frame[] frames = {
        new Frame(FrameType.UNMAP, 0, 7, 813, 812, 8192, pair),
        new Frame(FrameType.FLUSH, 0, 7, 814, 812, 0, null),
        new Frame(FrameType.HEARTBEAT, 0, 7, 0, 813, 42, null),
        new Frame(FrameType.ACK, 0, 7, 0, 813, 42, null),
        new Frame(FrameType.NACK, 0, 8, 812, 0, 1, "epoch 7 is older".getBytes()),
        new Frame(FrameType.HELLO, 0, 7, 0, 0, 0, new byte[] {0, 1, 'v', 0, 1, 'p',
            0, 0, 0, 0, 0, 0, 0, 19}),
    };
    ByteBuf many = Unpooled.buffer();
    for (Frame f : frames) {
      FrameEncoder.write(f, many);
    }
    ch.writeInbound(many);
    for (Frame f : frames) {
      Frame back = ch.readInbound();
      assertThat(back.type()).isEqualTo(f.type());
      assertThat(back.epoch()).isEqualTo(f.epoch());
      assertThat(back.seq()).isEqualTo(f.seq());
      assertThat(back.commit()).isEqualTo(f.commit());
      assertThat(back.offset()).isEqualTo(f.offset());
      assertThat(back.payload()).isEqualTo(f.payload());
    }
    assertThat((Object) ch.readInbound()).isNull();
  }

  /** FLUSH and HEARTBEAT carry no payload; one that declares any breaks the connection. */
  @Test
  void aFlushWithPayloadIsABadFrame() {
    ByteBuffer b = ByteBuffer.allocate(48);
    b.putInt(0x49534352).put((byte) 1).put((byte) 0x06).putShort((short) 0);
    b.putLong(7).putLong(1).putLong(0).putLong(0).putInt(1);
    b.putInt(crc(b.array(), 0, 44));
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ch.writeInbound(Unpooled.wrappedBuffer(b.array()));
    assertThat((Object) ch.readInbound()).isInstanceOf(FrameDecoder.BadFrame.class);
  }
}
