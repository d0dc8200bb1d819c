package org.iscsicsi.target.scsi;

import static org.iscsicsi.target.scsi.CommandDescriptor.of;

import java.util.ArrayList;
import java.util.List;

/**
 * Every command this direct-access block device supports, with its CDB usage data (SPC-4 6.35),
 * reservation class and implementation. Opcodes 9Eh and A3h are looked up by service action too.
 */
final class CommandSet {

  private static final int FF = 0xff;
  private static final int G = 0x1f; // GROUP NUMBER: accepted and ignored
  static final List<CommandDescriptor> ALL = build();

  private CommandSet() {
  }

  private static List<CommandDescriptor> build() {
    List<CommandDescriptor> l = new ArrayList<>();
    Read read = new Read();
    Write write = new Write(false);
    Write writeVerify = new Write(true);
    Verify verify = new Verify();
    SynchronizeCache sync = new SynchronizeCache();
    ModeSense modeSense = new ModeSense();
    ModeSelect modeSelect = new ModeSelect();
    Prefetch prefetch = new Prefetch();
    WriteSame writeSame = new WriteSame();
    PersistentReserveIn prin = new PersistentReserveIn();
    PersistentReserveOut prout = new PersistentReserveOut();
    LegacyReservation reserve = new LegacyReservation(true);
    LegacyReservation release = new LegacyReservation(false);

    l.add(of("TEST UNIT READY", 0x00, -1, Access.ALWAYS, new TestUnitReady(), 0x00, 0, 0, 0, 0, 0));
    l.add(of("REQUEST SENSE", 0x03, -1, Access.ALWAYS, c -> RequestSense.run(c, Sense.NONE),
        0x03, 0x01, 0, 0, FF, 0));
    l.add(of("READ(6)", 0x08, -1, Access.READ, read, 0x08, 0x1f, FF, FF, FF, 0));
    l.add(of("WRITE(6)", 0x0a, -1, Access.WRITE, write, 0x0a, 0x1f, FF, FF, FF, 0));
    l.add(of("INQUIRY", 0x12, -1, Access.ALWAYS, Inquiry.INSTANCE, 0x12, 0x01, FF, FF, FF, 0));
    l.add(of("MODE SELECT(6)", 0x15, -1, Access.WRITE, modeSelect, 0x15, 0x11, 0, 0, FF, 0));
    l.add(of("RESERVE(6)", 0x16, -1, Access.LEGACY_RESERVATION, reserve, 0x16, 0, 0, 0, 0, 0));
    l.add(of("RELEASE(6)", 0x17, -1, Access.LEGACY_RESERVATION, release, 0x17, 0, 0, 0, 0, 0));
    l.add(of("MODE SENSE(6)", 0x1a, -1, Access.READ, modeSense, 0x1a, 0x08, FF, FF, FF, 0));
    l.add(of("START STOP UNIT", 0x1b, -1, Access.WRITE, new StartStopUnit(),
        0x1b, 0x01, 0, 0x0f, 0xf7, 0));
    l.add(of("PREVENT ALLOW MEDIUM REMOVAL", 0x1e, -1, Access.READ,
        new PreventAllowMediumRemoval(), 0x1e, 0, 0, 0, 0x03, 0));
    l.add(of("READ CAPACITY(10)", 0x25, -1, Access.ALWAYS, ReadCapacity::run10,
        0x25, 0, FF, FF, FF, FF, 0, 0, 0x01, 0));
    l.add(of("READ(10)", 0x28, -1, Access.READ, read, 0x28, 0x18, FF, FF, FF, FF, G, FF, FF, 0));
    l.add(of("WRITE(10)", 0x2a, -1, Access.WRITE, write, 0x2a, 0x18, FF, FF, FF, FF, G, FF, FF,
        0));
    l.add(of("WRITE AND VERIFY(10)", 0x2e, -1, Access.WRITE, writeVerify,
        0x2e, 0x12, FF, FF, FF, FF, G, FF, FF, 0));
    l.add(of("VERIFY(10)", 0x2f, -1, Access.READ, verify, 0x2f, 0x16, FF, FF, FF, FF, G, FF, FF,
        0));
    l.add(of("PRE-FETCH(10)", 0x34, -1, Access.READ, prefetch,
        0x34, 0x02, FF, FF, FF, FF, G, FF, FF, 0));
    l.add(of("SYNCHRONIZE CACHE(10)", 0x35, -1, Access.WRITE, sync,
        0x35, 0x02, FF, FF, FF, FF, G, FF, FF, 0));
    l.add(of("READ DEFECT DATA(10)", 0x37, -1, Access.READ, new ReadDefectData(),
        0x37, 0, 0x1f, 0, 0, 0, 0, FF, FF, 0));
    l.add(of("WRITE SAME(10)", 0x41, -1, Access.WRITE, writeSame,
        0x41, 0x08, FF, FF, FF, FF, G, FF, FF, 0));
    l.add(of("UNMAP", 0x42, -1, Access.WRITE, new Unmap(), 0x42, 0, 0, 0, 0, 0, G, FF, FF, 0));
    l.add(of("MODE SELECT(10)", 0x55, -1, Access.WRITE, modeSelect,
        0x55, 0x11, 0, 0, 0, 0, 0, FF, FF, 0));
    l.add(of("RESERVE(10)", 0x56, -1, Access.LEGACY_RESERVATION, reserve,
        0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    l.add(of("RELEASE(10)", 0x57, -1, Access.LEGACY_RESERVATION, release,
        0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    l.add(of("MODE SENSE(10)", 0x5a, -1, Access.READ, modeSense,
        0x5a, 0x18, FF, FF, 0, 0, 0, FF, FF, 0));
    for (int sa = 0; sa <= 3; sa++) {
      l.add(of("PERSISTENT RESERVE IN", 0x5e, sa, Access.ALWAYS, prin,
          0x5e, 0x1f, 0, 0, 0, 0, 0, FF, FF, 0));
    }
    for (int sa = 0; sa <= 6; sa++) {
      l.add(of("PERSISTENT RESERVE OUT", 0x5f, sa, Access.PERSISTENT_RESERVE_OUT, prout,
          0x5f, 0x1f, FF, 0, 0, FF, FF, FF, FF, 0));
    }
    l.add(of("READ(16)", 0x88, -1, Access.READ, read,
        0x88, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("COMPARE AND WRITE", 0x89, -1, Access.WRITE, new CompareAndWrite(),
        0x89, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, 0, 0, 0, FF, G, 0));
    l.add(of("WRITE(16)", 0x8a, -1, Access.WRITE, write,
        0x8a, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("ORWRITE(16)", 0x8b, -1, Access.WRITE, new OrWrite(),
        0x8b, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("WRITE AND VERIFY(16)", 0x8e, -1, Access.WRITE, writeVerify,
        0x8e, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("VERIFY(16)", 0x8f, -1, Access.READ, verify,
        0x8f, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("PRE-FETCH(16)", 0x90, -1, Access.READ, prefetch,
        0x90, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("SYNCHRONIZE CACHE(16)", 0x91, -1, Access.WRITE, sync,
        0x91, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("WRITE SAME(16)", 0x93, -1, Access.WRITE, writeSame,
        0x93, 0x09, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("READ CAPACITY(16)", 0x9e, 0x10, Access.ALWAYS, ReadCapacity::run16,
        0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, FF, FF, FF, FF, 0, 0));
    l.add(of("GET LBA STATUS", 0x9e, 0x12, Access.READ, new GetLbaStatus(),
        0x9e, 0x1f, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0, 0));
    l.add(of("REPORT LUNS", 0xa0, -1, Access.ALWAYS, ReportLuns.INSTANCE,
        0xa0, 0, FF, 0, 0, 0, FF, FF, FF, FF, 0, 0).anyLun());
    l.add(of("REPORT TARGET PORT GROUPS", 0xa3, ReportTargetPortGroups.SERVICE_ACTION,
        Access.ALWAYS, new ReportTargetPortGroups(),
        0xa3, 0xff, 0, 0, 0, 0, FF, FF, FF, FF, 0, 0));
    l.add(of("REPORT SUPPORTED OPERATION CODES", 0xa3, 0x0c, Access.ALWAYS,
        new ReportSupportedOperationCodes(), 0xa3, 0x1f, 0x87, FF, FF, FF, FF, FF, FF, FF, 0, 0));
    l.add(of("REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", 0xa3, 0x0d, Access.ALWAYS,
        new ReportSupportedTaskManagementFunctions(),
        0xa3, 0x1f, 0x80, 0, 0, 0, FF, FF, FF, FF, 0, 0));
    l.add(of("READ(12)", 0xa8, -1, Access.READ, read,
        0xa8, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("WRITE(12)", 0xaa, -1, Access.WRITE, write,
        0xaa, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("READ DEFECT DATA(12)", 0xb7, -1, Access.READ, new ReadDefectData(),
        0xb7, 0x1f, 0, 0, 0, 0, FF, FF, FF, FF, 0, 0));
    l.add(of("WRITE AND VERIFY(12)", 0xae, -1, Access.WRITE, writeVerify,
        0xae, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    l.add(of("VERIFY(12)", 0xaf, -1, Access.READ, verify,
        0xaf, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, G, 0));
    return List.copyOf(l);
  }

  /** Whether the opcode's commands are told apart by the SERVICE ACTION field (byte 1). */
  static boolean dispatchesOnServiceAction(int opcode) {
    return opcode == 0x9e || opcode == 0xa3;
  }

  /**
   * The descriptor for a CDB: INVALID COMMAND OPERATION CODE for unknown opcodes, INVALID FIELD IN
   * CDB for unknown service actions.
   */
  static CommandDescriptor find(byte[] cdb) throws CheckCondition {
    int opcode = cdb[0] & 0xff;
    int sa = cdb.length > 1 ? cdb[1] & 0x1f : 0;
    boolean opcodeKnown = false;
    for (CommandDescriptor d : ALL) {
      if (d.opcode() != opcode) {
        continue;
      }
      opcodeKnown = true;
      if (!dispatchesOnServiceAction(opcode) || d.serviceAction() == sa) {
        return d;
      }
    }
    if (opcodeKnown) {
      throw CheckCondition.invalidCdbField(1, 4);
    }
    throw new CheckCondition(Sense.INVALID_OPCODE);
  }
}
