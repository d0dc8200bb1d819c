package org.iscsicsi.target.scsi;

/** SAM task attributes, as carried in the ATTR field of the SCSI Command PDU. */
public enum TaskAttribute { UNTAGGED, SIMPLE, ORDERED, HEAD_OF_QUEUE, ACA }
