package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;

/**
 * A SCSI command as the iSCSI layer hands it to the SCSI layer: every byte of Data-Out (immediate,
 * unsolicited and solicited) already gathered.
 *
 * @param lun the flat LUN number decoded from the 8-byte LUN field (SAM-5 4.6)
 * @param dataOut the write data, or null; ownership passes to the SCSI layer, which releases it
 */
public record ScsiRequest(ItNexus nexus, long lun, byte[] cdb, int taskTag,
    TaskAttribute attribute, DataDirection direction, int expectedTransferLength,
    ByteBuf dataOut) {

  public int opcode() {
    return cdb[0] & 0xff;
  }
}
