package org.iscsicsi.target.scsi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.iscsicsi.target.lun.LunConfig;

/**
 * Vital product data pages (SPC-4 7.8, SBC-3 6.5): supported pages (00h), unit serial number
 * (80h), device identification (83h), block limits (B0h), block device characteristics (B1h) and
 * logical block provisioning (B2h).
 */
final class VpdPages {

  static final int[] SUPPORTED = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
  /** Largest READ/WRITE transfer, in bytes. */
  static final int MAX_TRANSFER_BYTES = ScsiTargetPort.MAX_TRANSFER_BYTES;
  static final int OPTIMAL_TRANSFER_BYTES = 1 << 20;
  static final int MAX_COMPARE_AND_WRITE_BLOCKS = 128;
  static final int MAX_UNMAP_DESCRIPTORS = 256;
  /** UNMAP and WRITE SAME ranges: no limit (punching a hole costs the same whatever its size). */
  static final long UNLIMITED = 0xffffffffL;
  static final int RELATIVE_TARGET_PORT = 1;

  private VpdPages() {
  }

  static int maxTransferBlocks(int blockSize) {
    return MAX_TRANSFER_BYTES / blockSize;
  }

  static byte[] page(CommandContext c, int code) {
    return switch (code) {
      case 0x00 -> supported();
      case 0x80 -> serial(c.unit().config());
      case 0x83 -> identification(c);
      case 0xb0 -> blockLimits(c.blockSize());
      case 0xb1 -> characteristics();
      case 0xb2 -> provisioning(c.unit().config());
      default -> null;
    };
  }

  private static byte[] header(int code, int length) {
    byte[] d = new byte[4 + length];
    d[1] = (byte) code;
    Cdb.put16(d, 2, length);
    return d;
  }

  private static byte[] supported() {
    byte[] d = header(0x00, SUPPORTED.length);
    for (int i = 0; i < SUPPORTED.length; i++) {
      d[4 + i] = (byte) SUPPORTED[i];
    }
    return d;
  }

  private static byte[] serial(LunConfig config) {
    byte[] s = config.serial().getBytes(StandardCharsets.US_ASCII);
    byte[] d = header(0x80, s.length);
    System.arraycopy(s, 0, d, 4, s.length);
    return d;
  }

  /**
   * NAA (6h, from the LUN's config) and T10 vendor ID designators of the logical unit; relative
   * target port, target port group and SCSI name string designators of the target port and
   * target device. With a port slot, the relative target port and the target port group are the
   * slot; without, 1 and the portal group tag.
   */
  private static byte[] identification(CommandContext c) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LunConfig config = c.unit().config();
    designator(out, 0x01, 0x03, config.naa());
    byte[] t10 = (pad(Inquiry.VENDOR, 8) + config.serial()).getBytes(StandardCharsets.US_ASCII);
    designator(out, 0x02, 0x01, t10);
    LunState.AluaView alua = c.lu.alua();
    byte[] port = new byte[4];
    Cdb.put16(port, 2, c.lu.relativeTargetPort());
    designator(out, 0x51, 0x94, port);
    byte[] group = new byte[4];
    Cdb.put16(group, 2, alua == null ? c.nexus.portalGroupTag() : alua.groups().slot());
    designator(out, 0x51, 0x95, group);
    designator(out, 0x53, 0x98, scsiName(c.nexus.targetPortName()));
    designator(out, 0x53, 0xa8, scsiName(c.nexus.targetName()));
    byte[] body = out.toByteArray();
    byte[] d = header(0x83, body.length);
    System.arraycopy(body, 0, d, 4, body.length);
    return d;
  }

  private static String pad(String s, int width) {
    return String.format("%-" + width + "s", s);
  }

  /** A SCSI name string: UTF-8, null-terminated, padded to a multiple of 4. */
  private static byte[] scsiName(String name) {
    byte[] b = name.getBytes(StandardCharsets.UTF_8);
    byte[] d = new byte[(b.length + 4) / 4 * 4];
    System.arraycopy(b, 0, d, 0, b.length);
    return d;
  }

  private static void designator(ByteArrayOutputStream out, int protocolAndCodeSet,
      int associationAndType, byte[] value) {
    out.write(protocolAndCodeSet);
    out.write(associationAndType);
    out.write(0);
    out.write(value.length);
    out.writeBytes(value);
  }

  private static byte[] blockLimits(int blockSize) {
    byte[] d = header(0xb0, 0x3c);
    d[4] = 0x00; // WSNZ 0: WRITE SAME with 0 blocks means "to the end of the medium"
    d[5] = (byte) MAX_COMPARE_AND_WRITE_BLOCKS;
    Cdb.put16(d, 6, Math.max(1, 4096 / blockSize)); // optimal transfer length granularity
    Cdb.put32(d, 8, maxTransferBlocks(blockSize));
    Cdb.put32(d, 12, OPTIMAL_TRANSFER_BYTES / blockSize);
    Cdb.put32(d, 20, UNLIMITED);
    Cdb.put32(d, 24, MAX_UNMAP_DESCRIPTORS);
    Cdb.put32(d, 28, Math.max(1, 4096 / blockSize)); // optimal unmap granularity: a page
    Cdb.put64(d, 36, UNLIMITED); // maximum WRITE SAME length
    return d;
  }

  private static byte[] characteristics() {
    byte[] d = header(0xb1, 0x3c);
    Cdb.put16(d, 4, 0x0001); // non-rotating medium
    return d;
  }

  private static byte[] provisioning(LunConfig config) {
    byte[] d = header(0xb2, 4);
    if (config.thin()) {
      // LBPU, LBPWS, LBPWS10, LBPRZ (holes read as zeros)
      d[5] = (byte) (0x80 | 0x40 | 0x20 | 0x04);
      d[6] = 0x02; // thin provisioned
    } else {
      d[5] = 0x04;
      d[6] = 0x00; // fully provisioned
    }
    return d;
  }
}
