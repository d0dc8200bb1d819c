package org.iscsicsi.target.pdu;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.InitiatorPdu.NopOut;
import org.iscsicsi.target.pdu.InitiatorPdu.ScsiCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Pins the wire format of {@link IscsiPduDecoder} and {@link IscsiPduEncoder} against hand-written
 * byte fixtures (RFC 7143 section 11): field offsets, padding, CRC32C digests (RFC 3720 appendix
 * B.4 vectors), input split at every byte, errors reported as failed DecoderResults instead of
 * exceptions, and no leaked buffers.
 */
class IscsiPduCodecTest {

  /**
   * Login Request: I, T=1 CSG=1 NSG=3, ISID 0x23d000000001, ITT 1, CID 1, CmdSN 5, ExpStatSN 7,
   * "InitiatorName=iqn.x" NUL (20 bytes, no padding).
   */
  static final String LOGIN_REQUEST =
      "43 87 00 00 00 000014 23d000000001 0000 00000001 0001 0000 00000005 00000007"
      + " 00000000000000000000000000000000"
      + " 496e69746961746f724e616d653d69716e2e7800";

  /**
   * SCSI Command: F R, ATTR simple, LUN 1, ITT 0x10, EDTL 4096, CmdSN 9, ExpStatSN 3, READ(10)
   * LBA 0x10 length 8.
   */
  static final String READ10 =
      "01 c1 0000 00 000000 0001000000000000 00000010 00001000 00000009 00000003"
      + " 28000000001000000800000000000000";

  /** NOP-Out: I, ITT 0x20, TTT 0xffffffff, CmdSN 9, 4 data bytes "ping". */
  static final String NOP_OUT =
      "40 80 0000 00 000004 0000000000000000 00000020 ffffffff 00000009 00000003"
      + " 00000000000000000000000000000000 70696e67";

  /** A BHS with opcode 0x1f, which RFC 7143 does not define, and 4 data bytes. */
  static final String UNKNOWN_OPCODE =
      "1f 80 0000 00 000004 0000000000000000 00000030 00000000 00000000 00000000"
      + " 00000000000000000000000000000000 01020304";

  /** WRITE(10) whose DataSegmentLength (1 MiB) exceeds the decoder's 8 KiB limit. */
  static final String OVERSIZED =
      "01 a1 0000 00 100000 0000000000000000 00000040 00100000 00000009 00000003"
      + " 2a000000000000000800000000000000";

  /** A 32-byte CDB: SCSI Command with an Extended CDB AHS (type 1, length 17: reserved + 16). */
  static final String EXTENDED_CDB =
      "01 80 0000 05 000000 0000000000000000 00000050 00000000 0000000a 00000003"
      + " 7f000000000000000000000000000018"
      + " 0011 01 00 101112131415161718191a1b1c1d1e1f 000000";

  private EmbeddedChannel channel;

  static ByteBuf hex(String s) {
    return Unpooled.wrappedBuffer(HexFormat.of().parseHex(s.replace(" ", "")));
  }

  static String hexOf(ByteBuf b) {
    byte[] bytes = new byte[b.readableBytes()];
    b.getBytes(b.readerIndex(), bytes);
    return HexFormat.of().formatHex(bytes);
  }

  @AfterEach
  void noLeaks() {
    if (channel != null) {
      assertThat(channel.finishAndReleaseAll()).isFalse();
    }
  }

  @Test
  void crc32cMatchesRfc3720Vectors() {
    assertThat(crc(new byte[32])).isEqualTo("aa36918a");
    byte[] ones = new byte[32];
    java.util.Arrays.fill(ones, (byte) 0xff);
    assertThat(crc(ones)).isEqualTo("43aba862");
    byte[] inc = new byte[32];
    for (int i = 0; i < 32; i++) {
      inc[i] = (byte) i;
    }
    assertThat(crc(inc)).isEqualTo("4e79dd46");
  }

  private static String crc(byte[] data) {
    ByteBuf out = Unpooled.buffer(4);
    out.writeIntLE(IscsiDigest.crc32c(Unpooled.wrappedBuffer(data), 0, data.length, 0));
    return hexOf(out);
  }

  @Test
  void decodesLoginRequestFields() {
    channel = new EmbeddedChannel(new IscsiPduDecoder(8192));
    channel.writeInbound(hex(LOGIN_REQUEST));
    LoginRequest login = channel.readInbound();
    assertThat(login.transit()).isTrue();
    assertThat(login.cont()).isFalse();
    assertThat(login.csg()).isEqualTo(1);
    assertThat(login.nsg()).isEqualTo(3);
    assertThat(login.isid()).isEqualTo(0x23d000000001L);
    assertThat(login.tsih()).isZero();
    assertThat(login.itt()).isEqualTo(1);
    assertThat(login.cid()).isEqualTo(1);
    assertThat(login.cmdSn()).isEqualTo(5);
    assertThat(login.expStatSn()).isEqualTo(7);
    assertThat(login.data().toString(StandardCharsets.UTF_8))
        .isEqualTo("InitiatorName=iqn.x\0");
    assertThat(login.release()).isTrue();
  }

  @Test
  void decodesInputSplitAtEveryByte() {
    channel = new EmbeddedChannel(new IscsiPduDecoder(8192));
    ByteBuf all = Unpooled.wrappedBuffer(hex(READ10), hex(NOP_OUT));
    while (all.isReadable()) {
      channel.writeInbound(all.readRetainedSlice(1));
    }
    all.release();
    ScsiCommand read = channel.readInbound();
    assertThat(read.isFinal()).isTrue();
    assertThat(read.read()).isTrue();
    assertThat(read.write()).isFalse();
    assertThat(read.attribute()).isEqualTo(1);
    assertThat(read.lun()).isEqualTo(0x0001000000000000L);
    assertThat(read.itt()).isEqualTo(0x10);
    assertThat(read.expectedDataTransferLength()).isEqualTo(4096);
    assertThat(read.cmdSn()).isEqualTo(9);
    assertThat(read.cdb()[0]).isEqualTo((byte) 0x28);
    assertThat(read.cdb()[8]).isEqualTo((byte) 8);
    NopOut nop = channel.readInbound();
    assertThat(nop.immediate()).isTrue();
    assertThat(nop.ttt()).isEqualTo(-1);
    assertThat(nop.data().toString(StandardCharsets.US_ASCII)).isEqualTo("ping");
    nop.release();
    assertThat((Object) channel.readInbound()).isNull();
  }

  @Test
  void extendedCdbAhsIsAppendedToTheCdb() {
    channel = new EmbeddedChannel(new IscsiPduDecoder(8192));
    channel.writeInbound(hex(EXTENDED_CDB));
    ScsiCommand cmd = channel.readInbound();
    assertThat(cmd.cdb()).hasSize(32);
    assertThat(cmd.cdb()[0]).isEqualTo((byte) 0x7f);
    assertThat(cmd.cdb()[16]).isEqualTo((byte) 0x10);
    assertThat(cmd.cdb()[31]).isEqualTo((byte) 0x1f);
  }

  @Test
  void unknownOpcodeIsAFailedResultAndDecodingGoesOn() {
    channel = new EmbeddedChannel(new IscsiPduDecoder(8192));
    channel.writeInbound(Unpooled.wrappedBuffer(hex(UNKNOWN_OPCODE), hex(NOP_OUT)));
    InvalidPdu bad = channel.readInbound();
    assertThat(bad.decoderResult().isFailure()).isTrue();
    assertThat(bad.fatal()).isFalse();
    assertThat(bad.reason()).isEqualTo(RejectReason.COMMAND_NOT_SUPPORTED);
    assertThat(bad.itt()).isEqualTo(0x30);
    assertThat(bad.header()).hasSize(48);
    NopOut nop = channel.readInbound();
    assertThat(nop.itt()).isEqualTo(0x20);
    nop.release();
  }

  @Test
  void segmentOverTheLimitIsFatalAndTheRestIsDiscarded() {
    IscsiPduDecoder decoder = new IscsiPduDecoder(8192);
    channel = new EmbeddedChannel(decoder);
    channel.writeInbound(Unpooled.wrappedBuffer(hex(OVERSIZED), hex(NOP_OUT)));
    InvalidPdu bad = channel.readInbound();
    assertThat(bad.fatal()).isTrue();
    assertThat(bad.message()).contains("exceeds MaxRecvDataSegmentLength");
    assertThat(decoder.state()).isEqualTo(IscsiPduDecoder.State.BAD_MESSAGE);
    channel.writeInbound(hex(NOP_OUT));
    assertThat((Object) channel.readInbound()).isNull();
  }

  @Test
  void headerAndDataDigestsAreChecked() {
    IscsiPduDecoder decoder = new IscsiPduDecoder(8192);
    decoder.setDigests(true, true);
    channel = new EmbeddedChannel(decoder);
    channel.writeInbound(withDigests(NOP_OUT, false, false));
    NopOut nop = channel.readInbound();
    assertThat(nop.data().toString(StandardCharsets.US_ASCII)).isEqualTo("ping");
    nop.release();

    channel.writeInbound(withDigests(NOP_OUT, false, true));
    InvalidPdu dataError = channel.readInbound();
    assertThat(dataError.reason()).isEqualTo(RejectReason.DATA_DIGEST_ERROR);
    assertThat(dataError.fatal()).isFalse();

    channel.writeInbound(withDigests(NOP_OUT, true, false));
    InvalidPdu headerError = channel.readInbound();
    assertThat(headerError.fatal()).isTrue();
    assertThat(headerError.message()).contains("header digest");
  }

  /** The fixture with CRC32C digests appended, optionally corrupted. */
  private static ByteBuf withDigests(String fixture, boolean badHeader, boolean badData) {
    ByteBuf in = hex(fixture);
    ByteBuf out = Unpooled.buffer();
    out.writeBytes(in, 0, 48);
    out.writeIntLE(IscsiDigest.crc32c(in, 0, 48, 0) ^ (badHeader ? 1 : 0));
    int len = in.readableBytes() - 48;
    out.writeBytes(in, 48, len);
    out.writeIntLE(IscsiDigest.crc32c(in, 48, len, 0) ^ (badData ? 1 : 0));
    return out;
  }

  @Test
  void encodesScsiResponseWithSenseAndPadding() {
    channel = new EmbeddedChannel(new IscsiPduEncoder());
    ByteBuf sense = Unpooled.buffer();
    sense.writeShort(18).writeBytes(HexFormat.of().parseHex(
        "700005000000000a000000002400000000000000".substring(0, 36)));
    channel.writeOutbound(new TargetPdu.ScsiResponse(0x02, 0, 2, 0x10, 100, 10, 73, 0, 0, 512,
        sense));
    ByteBuf out = readAll();
    // SCSI Response: F U, response 0, status CHECK CONDITION, DSL 20, ITT 0x10, StatSN 100,
    // ExpCmdSN 10, MaxCmdSN 73, residual 512; sense length 18 + ILLEGAL REQUEST 24/00; no
    // padding (20 is a multiple of 4).
    assertThat(hexOf(out)).isEqualTo(("21820002 00000014 0000000000000000 00000010 00000000"
        + " 00000064 0000000a 00000049 00000000 00000000 00000200"
        + " 0012 700005000000000a000000002400000000000000").replace(" ", "").substring(0,
        (48 + 20) * 2));
    out.release();
  }

  @Test
  void encodesDataInWithStatusAndDigests() {
    IscsiPduEncoder encoder = new IscsiPduEncoder();
    encoder.setDigests(true, true);
    channel = new EmbeddedChannel(encoder);
    ByteBuf payload = Unpooled.copiedBuffer("abcde", StandardCharsets.US_ASCII);
    channel.writeOutbound(new TargetPdu.DataIn(true, true, 0x02, 0, 0, 7, -1, 5, 6, 70, 0, 0,
        3, payload));
    ByteBuf out = readAll();
    assertThat(out.readableBytes()).isEqualTo(48 + 4 + 8 + 4);
    /* Data-In: F S U, status GOOD, DSL 5, ITT 7, TTT ffffffff, StatSN 5, DataSN 0, residual 3. */
    assertThat(hexOf(out.slice(0, 48))).isEqualTo(("25830000 00000005 0000000000000000"
        + " 00000007 ffffffff 00000005 00000006 00000046 00000000 00000000 00000003")
        .replace(" ", ""));
    assertThat(out.getIntLE(48)).isEqualTo(IscsiDigest.crc32c(out, 0, 48, 0));
    assertThat(out.toString(52, 5, StandardCharsets.US_ASCII)).isEqualTo("abcde");
    assertThat(hexOf(out.slice(57, 3))).isEqualTo("000000");
    assertThat(out.getIntLE(60)).isEqualTo(IscsiDigest.crc32c(out, 52, 5, 3));
    out.release();
    assertThat(payload.refCnt()).isZero();
  }

  @Test
  void largeDataSegmentsAreNotCopied() {
    channel = new EmbeddedChannel(new IscsiPduEncoder());
    ByteBuf payload = Unpooled.directBuffer(4096).writeZero(4096);
    channel.writeOutbound(new TargetPdu.DataIn(true, false, 0, 0, 0, 1, -1, 0, 1, 2, 0, 0, 0,
        payload));
    ByteBuf header = channel.readOutbound();
    ByteBuf data = channel.readOutbound();
    assertThat(header.readableBytes()).isEqualTo(48);
    assertThat(data).isSameAs(payload);
    header.release();
    data.release();
    assertThat(payload.refCnt()).isZero();
  }

  private ByteBuf readAll() {
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
      all.writeBytes(b);
      b.release();
    }
    return all;
  }
}
