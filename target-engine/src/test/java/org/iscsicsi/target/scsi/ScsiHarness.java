package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;

/** A target port with real file-backed LUNs in a temp dir, and CDB helpers for tests. */
final class ScsiHarness implements AutoCloseable {

  static final String TARGET = "iqn.2026-01.org.iscsicsi:test";
  final ScsiTargetDevice port;
  final Path dir;
  private int serial;

  ScsiHarness(Path dir) {
    this(dir, new ScsiTargetDevice(TARGET));
  }

  ScsiHarness(Path dir, ScsiTargetDevice port) {
    this.dir = dir;
    this.port = port;
  }

  static ItNexus nexus(String initiator, long isid) {
    return new ItNexus(initiator, isid, TARGET, 1, false);
  }

  static ItNexus readOnlyNexus(String initiator) {
    return new ItNexus(initiator, 0x23d000000001L, TARGET, 1, true);
  }

  static byte[] naa(int n) {
    byte[] naa = HexFormat.of().parseHex("6001405000000000000000000000000" + n % 10);
    return naa;
  }

  LunConfig config(long size, boolean thin, boolean readOnly) {
    serial++;
    return new LunConfig(dir.resolve("lun" + serial + ".img"), size, 512, thin, readOnly,
        "SER" + serial, naa(serial));
  }

  LogicalUnit attach(long lun, long size, boolean thin, boolean readOnly) throws IOException {
    LunConfig c = config(size, thin, false);
    LogicalUnit unit = LogicalUnit.create(c);
    if (readOnly) {
      unit.close();
      unit = LogicalUnit.open(new LunConfig(c.file(), c.sizeBytes(), c.blockSize(), c.thin(),
          true, c.serial(), c.naa()));
    }
    port.attach(lun, unit);
    return unit;
  }

  /** Runs a command and waits for it; the response's data is copied out and released. */
  Result run(ItNexus nexus, long lun, byte[] cdb, byte[] dataOut) {
    ByteBuf out = dataOut == null ? null : Unpooled.copiedBuffer(dataOut);
    ScsiRequest request = new ScsiRequest(nexus, lun, cdb, 1, TaskAttribute.SIMPLE,
        dataOut == null ? DataDirection.READ : DataDirection.WRITE,
        dataOut == null ? 1 << 24 : dataOut.length, out);
    ScsiResponse r;
    try {
      r = port.execute(request).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    byte[] data = new byte[0];
    if (r.dataIn() != null) {
      data = ByteBufUtil.getBytes(r.dataIn());
      r.dataIn().release();
    }
    if (out != null) {
      assertThat(out.refCnt()).as("Data-Out released").isZero();
    }
    return new Result(r.status(), r.sense(), data, r.transferLength());
  }

  Result run(ItNexus nexus, byte[] cdb) {
    return run(nexus, 0, cdb, null);
  }

  /** Clears the power-on unit attention of a fresh nexus. */
  ItNexus login(ItNexus nexus) {
    port.nexusCreated(nexus);
    Result r = run(nexus, 0, cdb(0x00, 6), null);
    assertThat(r.senseKey()).isEqualTo(6);
    return nexus;
  }

  static byte[] cdb(int opcode, int length, int... bytes) {
    byte[] c = new byte[length];
    c[0] = (byte) opcode;
    for (int i = 0; i + 1 < bytes.length; i += 2) {
      c[bytes[i]] = (byte) bytes[i + 1];
    }
    return c;
  }

  static byte[] rw10(int opcode, long lba, int blocks, int flags) {
    byte[] c = new byte[10];
    c[0] = (byte) opcode;
    c[1] = (byte) flags;
    Cdb.put32(c, 2, lba);
    Cdb.put16(c, 7, blocks);
    return c;
  }

  static byte[] rw16(int opcode, long lba, long blocks, int flags) {
    byte[] c = new byte[16];
    c[0] = (byte) opcode;
    c[1] = (byte) flags;
    Cdb.put64(c, 2, lba);
    Cdb.put32(c, 10, blocks);
    return c;
  }

  static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  @Override
  public void close() throws IOException {
    for (long lun : port.luns().keySet()) {
      port.detach(lun).close();
    }
  }

  /** A command's outcome. */
  record Result(int status, byte[] sense, byte[] data, int transferLength) {
    int senseKey() {
      return sense.length > 2 ? sense[2] & 0x0f : -1;
    }

    int asc() {
      return sense[12] & 0xff;
    }

    int ascq() {
      return sense[13] & 0xff;
    }

    /** "K/AA/QQ" in hex, or "GOOD", or the status. */
    String outcome() {
      if (status == 0) {
        return "GOOD";
      }
      if (status != 2) {
        return String.format("status %02x", status);
      }
      return String.format("%X/%02X/%02X", senseKey(), asc(), ascq());
    }

    /** The sense-key-specific field pointer, or -1. */
    int fieldPointer() {
      return (sense[15] & 0x80) != 0 ? Cdb.u16(sense, 16) : -1;
    }

    boolean pointsIntoCdb() {
      return (sense[15] & 0x40) != 0;
    }
  }
}
