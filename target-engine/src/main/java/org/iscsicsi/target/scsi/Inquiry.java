package org.iscsicsi.target.scsi;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionStage;

/**
 * INQUIRY (SPC-4 6.6): standard data, and the vital product data pages of {@link VpdPages}. A LUN
 * number with no logical unit answers with peripheral qualifier 011b, device type 1Fh.
 */
final class Inquiry implements ScsiCommand {

  static final Inquiry INSTANCE = new Inquiry();
  static final String VENDOR = "ISCSICSI";
  static final String PRODUCT = "iscsi-csi disk";
  static final String REVISION = "0001";
  /** TPGS 01b in byte 5 bits 5-4: implicit ALUA, no SET TARGET PORT GROUPS. */
  static final int TPGS_IMPLICIT = 0x10;

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean evpd = (cdb[1] & 0x01) != 0;
    if ((cdb[1] & 0xfe) != 0) {
      throw CheckCondition.invalidCdbField(1, (cdb[1] & 0x02) != 0 ? 1 : -1);
    }
    int pageCode = cdb[2] & 0xff;
    int allocation = Cdb.u16(cdb, 3);
    if (!evpd) {
      if (pageCode != 0) {
        throw CheckCondition.invalidCdbField(2, -1);
      }
      return CommandContext.data(standard(c.lu != null, c.lu != null && c.lu.alua() != null),
          allocation);
    }
    if (c.lu == null) {
      byte[] none = new byte[4];
      none[0] = 0x7f;
      none[1] = (byte) pageCode;
      if (pageCode != 0) {
        throw CheckCondition.invalidCdbField(2, -1);
      }
      return CommandContext.data(none, allocation);
    }
    byte[] page = VpdPages.page(c, pageCode);
    if (page == null) {
      throw CheckCondition.invalidCdbField(2, -1);
    }
    return CommandContext.data(page, allocation);
  }

  static byte[] standard(boolean present) {
    return standard(present, false);
  }

  /** With {@code implicitAlua}, TPGS 01b: implicit asymmetric access only (SPC-4 6.6.2). */
  static byte[] standard(boolean present, boolean implicitAlua) {
    byte[] d = new byte[96];
    d[0] = (byte) (present ? 0x00 : 0x7f);
    d[1] = 0x00; // RMB 0: not removable
    d[2] = 0x06; // SPC-4
    d[3] = 0x12; // HISUP, response data format 2
    d[4] = (byte) (d.length - 5);
    d[5] = (byte) (implicitAlua ? TPGS_IMPLICIT : 0x00); // no 3PC, no PROTECT
    d[6] = 0x00;
    d[7] = 0x02; // CMDQUE
    ascii(d, 8, VENDOR, 8);
    ascii(d, 16, PRODUCT, 16);
    ascii(d, 32, REVISION, 4);
    // version descriptors (SPC-4 6.6.2): SAM-5, iSCSI, SPC-4, SBC-3
    Cdb.put16(d, 58, 0x00a0);
    Cdb.put16(d, 60, 0x0960);
    Cdb.put16(d, 62, 0x0460);
    Cdb.put16(d, 64, 0x04c0);
    return d;
  }

  static void ascii(byte[] d, int off, String s, int width) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < width; i++) {
      d[off + i] = i < b.length ? b[i] : (byte) ' ';
    }
  }
}
