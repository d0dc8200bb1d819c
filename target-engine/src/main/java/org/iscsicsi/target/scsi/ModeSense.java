package org.iscsicsi.target.scsi;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletionStage;

/**
 * MODE SENSE (6) and (10) (SPC-4 6.11, 6.12): header (WP when the LUN or the nexus is read-only,
 * DPOFUA), a short or long block descriptor, and the pages of {@link ModePages} for the current,
 * changeable and default page controls. Saved values are not supported.
 */
final class ModeSense implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean ten = cdb[0] == 0x5a;
    boolean dbd = (cdb[1] & 0x08) != 0;
    boolean llbaa = ten && (cdb[1] & 0x10) != 0;
    int pc = (cdb[2] & 0xc0) >>> 6;
    int pageCode = cdb[2] & 0x3f;
    int subpage = cdb[3] & 0xff;
    long allocation = ten ? Cdb.u16(cdb, 7) : Cdb.u8(cdb, 4);
    if (pc == 3) {
      throw new CheckCondition(Sense.SAVING_PARAMETERS_NOT_SUPPORTED);
    }
    if (subpage != 0 && !(subpage == 0xff && pageCode == ModePages.ALL)) {
      throw CheckCondition.invalidCdbField(3, -1);
    }
    boolean wp = c.readOnly();
    ByteArrayOutputStream pages = new ByteArrayOutputStream();
    if (pageCode == ModePages.ALL) {
      for (int code : ModePages.SUPPORTED) {
        pages.writeBytes(c.lu.modePages.page(code, pc, wp));
      }
    } else if (ModePages.SUPPORTED.contains(pageCode)) {
      pages.writeBytes(c.lu.modePages.page(pageCode, pc, wp));
    } else {
      throw CheckCondition.invalidCdbField(2, 5);
    }
    byte[] descriptor = dbd ? new byte[0] : blockDescriptor(c, llbaa);
    int headerLength = ten ? 8 : 4;
    byte[] d = new byte[headerLength + descriptor.length + pages.size()];
    int deviceSpecific = (wp ? 0x80 : 0) | 0x10; // WP, DPOFUA
    if (ten) {
      Cdb.put16(d, 0, d.length - 2);
      d[3] = (byte) deviceSpecific;
      d[4] = (byte) (llbaa && !dbd ? 0x01 : 0);
      Cdb.put16(d, 6, descriptor.length);
    } else {
      d[0] = (byte) (d.length - 1);
      d[2] = (byte) deviceSpecific;
      d[3] = (byte) descriptor.length;
    }
    System.arraycopy(descriptor, 0, d, headerLength, descriptor.length);
    byte[] p = pages.toByteArray();
    System.arraycopy(p, 0, d, headerLength + descriptor.length, p.length);
    return CommandContext.data(d, allocation);
  }

  private static byte[] blockDescriptor(CommandContext c, boolean longLba) {
    long blocks = c.blocks();
    if (longLba) {
      byte[] b = new byte[16];
      Cdb.put64(b, 0, blocks);
      Cdb.put32(b, 12, c.blockSize());
      return b;
    }
    byte[] b = new byte[8];
    Cdb.put32(b, 0, blocks > 0xffffffffL ? 0xffffffffL : blocks);
    b[5] = (byte) (c.blockSize() >>> 16);
    b[6] = (byte) (c.blockSize() >>> 8);
    b[7] = (byte) c.blockSize();
    return b;
  }
}
