package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;

/**
 * A SCSI command as the iSCSI layer hands it to the SCSI layer: every byte of Data-Out (immediate,
 * unsolicited and solicited) already gathered, possibly as a composite of the received segments.
 *
 * @param lun the flat LUN number decoded from the 8-byte LUN field (SAM-5 4.6)
 * @param dataOut the write data, or null; ownership passes to the SCSI layer, which releases it
 * @param dataInByFile whether the transport can send Data-In straight from the LUN's file
 *     ({@link ScsiResponse#dataInFile}): true when no data digest has to be computed over it
 */
public record ScsiRequest(ItNexus nexus, long lun, byte[] cdb, int taskTag,
    TaskAttribute attribute, DataDirection direction, int expectedTransferLength,
    ByteBuf dataOut, boolean dataInByFile) {

  /** A request whose Data-In comes back in a buffer. */
  public ScsiRequest(ItNexus nexus, long lun, byte[] cdb, int taskTag, TaskAttribute attribute,
      DataDirection direction, int expectedTransferLength, ByteBuf dataOut) {
    this(nexus, lun, cdb, taskTag, attribute, direction, expectedTransferLength, dataOut, false);
  }

  public int opcode() {
    return cdb[0] & 0xff;
  }
}
