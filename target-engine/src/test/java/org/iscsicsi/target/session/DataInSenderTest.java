package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ResourceLeakDetector;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.HexFormat;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.lun.LunFileRegion;
import org.iscsicsi.target.pdu.IscsiPduEncoder;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.ScsiResponse;
import org.iscsicsi.target.scsi.TaskAttribute;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link DataInSender} through the real {@link IscsiPduEncoder} on an {@link EmbeddedChannel}: a
 * READ's Data-In from a file range of a real (sparse) LUN file, sent with sendfile, puts exactly
 * the same bytes on the wire as the same data from a buffer: the split by MaxRecvDataSegmentLength
 * and MaxBurstLength (F bits, DataSN, offsets), the phase-collapsed status, residual overflow and
 * underflow, zeros for the file's holes, with and without a header digest. Every buffer and region
 * is released (netty's leak detector at PARANOID, and the LUN's file references drop back).
 */
class DataInSenderTest {

  private static final int ITT = 0x1234;

  @TempDir
  Path dir;
  private LogicalUnit unit;
  private byte[] content;

  @BeforeAll
  static void paranoid() {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @BeforeEach
  void lun() throws Exception {
    unit = LogicalUnit.create(new LunConfig(dir.resolve("lun.img"), 1 << 20, 512, true, false,
        "S-datain", HexFormat.of().parseHex("600140500000000000000000000000cc")));
    // 16 KiB hole, 32 KiB of data, then hole to the end
    ByteBuffer data = ByteBuffer.allocateDirect(32768);
    for (int i = 0; i < 32768; i++) {
      data.put((byte) (i * 17 + 1));
    }
    unit.write(16384, data.flip(), false);
    // Ranges are sent from the file only when wholly in the page cache (cachestat); a blocking
    // read puts all of it there, the holes' zero pages included.
    unit.read(0, ByteBuffer.allocateDirect(1 << 20));
    content = new byte[1 << 20];
    for (int i = 0; i < 32768; i++) {
      content[16384 + i] = (byte) (i * 17 + 1);
    }
  }

  @AfterEach
  void close() throws Exception {
    unit.close();
  }

  /** The wire bytes of one response, sent by a fresh connection's sender and encoder. */
  private byte[] wire(boolean headerDigest, int mrdsl, int burst, int edtl, ScsiResponse response) {
    IscsiPduEncoder encoder = new IscsiPduEncoder();
    encoder.setDigests(headerDigest, false);
    ChannelInboundHandlerAdapter last = new ChannelInboundHandlerAdapter();
    EmbeddedChannel channel = new EmbeddedChannel(encoder, last);
    ChannelHandlerContext ctx = channel.pipeline().context(last);
    SessionCountersRecorder counters = new SessionCountersRecorder();
    ScsiTask task = new ScsiTask(ITT, 0, 0, new byte[16], 7, edtl, DataDirection.READ,
        TaskAttribute.SIMPLE);
    int[] statSn = {100};
    new DataInSender(counters).send(ctx, mrdsl, burst, task, response,
        new DataInSender.Numbers() {
          @Override
          public int nextStatSn() {
            return statSn[0]++;
          }

          @Override
          public int expCmdSn() {
            return 8;
          }

          @Override
          public int maxCmdSn() {
            return 40;
          }
        });
    channel.flush();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WritableByteChannel sink = Channels.newChannel(out);
    Object msg;
    while ((msg = channel.readOutbound()) != null) {
      try {
        if (msg instanceof ByteBuf b) {
          byte[] a = new byte[b.readableBytes()];
          b.getBytes(b.readerIndex(), a);
          out.writeBytes(a);
        } else if (msg instanceof FileRegion r) {
          long done = 0;
          while (done < r.count()) {
            done += r.transferTo(sink, done);
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } finally {
        io.netty.util.ReferenceCountUtil.release(msg);
      }
    }
    assertThat(channel.finish()).isFalse();
    long sent = Math.min(response.dataInLength(), edtl);
    assertThat(counters.txdataOctets.sum()).isEqualTo(sent);
    return out.toByteArray();
  }

  @ParameterizedTest(name = "offset {0} length {1} EDTL {2} MRDSL {3} burst {4} hd {5}")
  @CsvSource({
      "0, 65536, 65536, 8192, 16384, false", // hole, data, hole; 8 PDUs, F every 2nd
      "8192, 65536, 40000, 8192, 16384, false", // overflow: trimmed to EDTL, residual O
      "8192, 65536, 100000, 16384, 65536, false", // underflow: residual U
      "12288, 131072, 131072, 262144, 1048576, true", // one PDU, header digest
      "0, 512, 512, 8192, 16384, true", // a small one
  })
  void fileRangesPutTheSameBytesOnTheWireAsBuffers(long offset, int length, int edtl,
      int mrdsl, int burst, boolean headerDigest) throws Exception {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(length);
    buffer.writeBytes(content, (int) offset, length);
    byte[] fromBuffer = wire(headerDigest, mrdsl, burst, edtl, ScsiResponse.good(buffer));
    assertThat(buffer.refCnt()).isZero();

    LunFileRegion region = unit.region(offset, length);
    byte[] fromFile = wire(headerDigest, mrdsl, burst, edtl, ScsiResponse.good(region));
    assertThat(region.refCnt()).isZero();

    assertThat(fromFile).isEqualTo(fromBuffer);
    int pdus = (Math.min(length, edtl) + mrdsl - 1) / mrdsl;
    int bhs = 48 + (headerDigest ? 4 : 0);
    // GOOD: the status rides on the last Data-In, no separate SCSI Response
    assertThat(fromFile).hasSize(pdus * bhs + Math.min(length, edtl));
    // the last PDU carries the status (S bit) and the residual
    int lastHeader = fromFile.length - Math.min(mrdsl, Math.min(length, edtl) - (pdus - 1) * mrdsl)
        - bhs;
    assertThat(fromFile[lastHeader] & 0x3f).as("opcode").isEqualTo(0x25);
    assertThat(fromFile[lastHeader + 1] & 0x81).as("F and S").isEqualTo(0x81);
    int residual = ByteBuffer.wrap(fromFile, lastHeader + 44, 4).getInt();
    assertThat(residual).isEqualTo(Math.abs(length - edtl));
  }

  @ParameterizedTest(name = "sliced {0}")
  @CsvSource({"false", "true"})
  void aDroppedResponseReleasesItsRange(boolean slice) throws Exception {
    LunFileRegion region = unit.region(0, 65536);
    ScsiResponse response = ScsiResponse.good(slice ? region.slice(0, 4096) : region);
    if (slice) {
      region.release();
    }
    response.releaseDataIn();
    assertThat(response.dataInFile().refCnt()).isZero();
  }
}
