package org.iscsicsi.target.scsi;

/** Direction of a command's data transfer, from the R and W bits of the SCSI Command PDU. */
public enum DataDirection { NONE, READ, WRITE, BIDIRECTIONAL }
