package org.iscsicsi.target.lun;

/** Totals of a LUN's I/O since the engine started. */
public record LunCounters(long readOps, long writeOps, long readBytes, long writeBytes) {
}
