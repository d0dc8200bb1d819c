package org.iscsicsi.target.scsi;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * REPORT SUPPORTED OPERATION CODES (SPC-4 6.35): all commands (reporting options 000b), or one
 * command by opcode (001b), by opcode and service action (010b) or either (011b), with command
 * timeouts descriptors when RCTD is set.
 */
final class ReportSupportedOperationCodes implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean rctd = (cdb[2] & 0x80) != 0;
    int options = cdb[2] & 0x07;
    int opcode = cdb[3] & 0xff;
    int sa = Cdb.u16(cdb, 4);
    long allocation = Cdb.u32(cdb, 6);
    List<CommandDescriptor> all = CommandSet.ALL;
    if (options == 0) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (CommandDescriptor d : all) {
        byte[] e = new byte[8];
        e[0] = (byte) d.opcode();
        Cdb.put16(e, 2, Math.max(0, d.serviceAction()));
        e[5] = (byte) ((rctd ? 0x02 : 0) | (d.serviceAction() >= 0 ? 0x01 : 0));
        Cdb.put16(e, 6, d.cdbLength());
        out.writeBytes(e);
        if (rctd) {
          out.writeBytes(timeouts());
        }
      }
      byte[] body = out.toByteArray();
      byte[] d = new byte[4 + body.length];
      Cdb.put32(d, 0, body.length);
      System.arraycopy(body, 0, d, 4, body.length);
      return CommandContext.data(d, allocation);
    }
    if (options > 3) {
      throw CheckCondition.invalidCdbField(2, 2);
    }
    boolean hasServiceActions = all.stream()
        .anyMatch(d -> d.opcode() == opcode && d.serviceAction() >= 0);
    if (options == 1 && hasServiceActions) {
      throw CheckCondition.invalidCdbField(3, -1);
    }
    boolean bySa = options == 2 || options == 3 && hasServiceActions;
    if (options == 2 && !hasServiceActions
        && all.stream().anyMatch(d -> d.opcode() == opcode)) {
      throw CheckCondition.invalidCdbField(3, -1);
    }
    CommandDescriptor found = all.stream()
        .filter(d -> d.opcode() == opcode && (!bySa || d.serviceAction() == sa))
        .findFirst().orElse(null);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (found == null) {
      out.writeBytes(new byte[] {0, 0x01, 0, 0}); // not supported
    } else {
      byte[] h = new byte[4];
      h[1] = (byte) ((rctd ? 0x80 : 0) | 0x03);
      Cdb.put16(h, 2, found.cdbLength());
      out.writeBytes(h);
      out.writeBytes(found.usage());
      if (rctd) {
        out.writeBytes(timeouts());
      }
    }
    return CommandContext.data(out.toByteArray(), allocation);
  }

  /** Command timeouts descriptor (SPC-4 6.35.4): no nominal or recommended timeout given. */
  private static byte[] timeouts() {
    byte[] t = new byte[12];
    Cdb.put16(t, 0, 0x0a);
    Cdb.put32(t, 8, 30);
    Cdb.put32(t, 4, 1);
    return t;
  }
}
