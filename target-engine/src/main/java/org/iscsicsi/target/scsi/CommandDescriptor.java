package org.iscsicsi.target.scsi;

/**
 * A supported command: opcode, service action, CDB usage data (SPC-4 6.35.3, what REPORT SUPPORTED
 * OPERATION CODES reports), reservation class and implementation.
 *
 * @param serviceAction the service action, or -1 when the opcode has none
 * @param usage the CDB usage bitmap: byte 0 is the opcode, every other byte has the bits the
 *     command looks at
 * @param needsUnit false for commands served on any LUN number (REPORT LUNS)
 */
record CommandDescriptor(String name, int opcode, int serviceAction, byte[] usage, Access access,
    boolean needsUnit, ScsiCommand command) {

  static CommandDescriptor of(String name, int opcode, int serviceAction, Access access,
      ScsiCommand command, int... usage) {
    byte[] u = new byte[usage.length];
    for (int i = 0; i < usage.length; i++) {
      u[i] = (byte) usage[i];
    }
    return new CommandDescriptor(name, opcode, serviceAction, u, access, true, command);
  }

  CommandDescriptor anyLun() {
    return new CommandDescriptor(name, opcode, serviceAction, usage, access, false, command);
  }

  int cdbLength() {
    return usage.length;
  }
}
