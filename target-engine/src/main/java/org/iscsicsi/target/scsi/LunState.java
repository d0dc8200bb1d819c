package org.iscsicsi.target.scsi;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.StampedLock;
import java.util.function.BiConsumer;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.UnitIo;

/**
 * The SCSI state of one attached logical unit: mode pages, persistent and SPC-2 reservations,
 * PREVENT ALLOW MEDIUM REMOVAL, and the lock that makes COMPARE AND WRITE atomic against writes.
 */
final class LunState {

  final long lun;
  final LogicalUnit unit;
  /**
   * What the commands that change the LU call: the unit itself, or a replicated unit in front of
   * it (docs/replication.md section 2).
   */
  private volatile UnitIo io;
  final ModePages modePages = new ModePages();
  final TaskOrdering ordering = new TaskOrdering();
  final PersistentReservations persistentReservations;
  /** Writes hold it shared; COMPARE AND WRITE holds it exclusively. */
  final StampedLock atomicity = new StampedLock();
  private final Set<NexusId> preventing = new HashSet<>();
  private NexusId legacyHolder;

  LunState(long lun, LogicalUnit unit, BiConsumer<NexusId, Sense> attention) {
    this.lun = lun;
    this.unit = unit;
    this.io = unit;
    this.persistentReservations = new PersistentReservations(attention);
  }

  UnitIo io() {
    return io;
  }

  /** Routes the LU's writes, flushes and unmaps through {@code next}. */
  void io(UnitIo next) {
    this.io = next;
  }

  /** The SPC-2 RESERVE(6/10) holder, or null. */
  synchronized NexusId legacyHolder() {
    return legacyHolder;
  }

  synchronized void reserveLegacy(NexusId nexus) throws CheckCondition {
    if (legacyHolder != null && !legacyHolder.equals(nexus)) {
      throw CheckCondition.reservationConflict();
    }
    legacyHolder = nexus;
  }

  synchronized void releaseLegacy(NexusId nexus) {
    if (nexus.equals(legacyHolder)) {
      legacyHolder = null;
    }
  }

  synchronized void prevent(NexusId nexus, boolean prevent) {
    if (prevent) {
      preventing.add(nexus);
    } else {
      preventing.remove(nexus);
    }
  }

  synchronized boolean removalPrevented() {
    return !preventing.isEmpty();
  }

  /** A nexus went away: its SPC-2 reservation and medium removal prevention end (SPC-4 5.13). */
  synchronized void nexusLost(NexusId nexus) {
    releaseLegacy(nexus);
    preventing.remove(nexus);
  }

  /** LOGICAL UNIT RESET or target reset: SPC-2 reservations and preventions end; PRs stay. */
  synchronized void reset() {
    legacyHolder = null;
    preventing.clear();
  }

  boolean readOnly(ItNexus nexus) {
    return nexus.readOnly() || unit.readOnly();
  }
}
