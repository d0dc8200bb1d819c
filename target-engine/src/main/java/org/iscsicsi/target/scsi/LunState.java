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
  /** Null for a logical unit without port slots (TPGS 00b). */
  private volatile AluaView alua;

  /**
   * The LU's port groups and the slots whose state was changed since it was attached (their
   * REPORT TARGET PORT GROUPS status code is 02h), swapped as one so readers see a consistent
   * pair.
   */
  record AluaView(AluaGroups groups, Set<Integer> altered) {
    AluaView {
      altered = Set.copyOf(altered);
    }
  }

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

  /** The ALUA groups and altered slots, or null when the LU has no port slot. */
  AluaView alua() {
    return alua;
  }

  /** The ALUA state of this engine's port, or null when the LU has no port slot. */
  AccessState accessState() {
    AluaView v = alua;
    return v == null ? null : v.groups().own();
  }

  /** The relative target port identifier: the port slot, or 1 without ALUA. */
  int relativeTargetPort() {
    AluaView v = alua;
    return v == null ? VpdPages.RELATIVE_TARGET_PORT : v.groups().slot();
  }

  /**
   * Replaces the port groups; returns whether what initiators see changed: a group's state, the
   * set of groups, or ALUA itself appearing or going (the caller raises ASYMMETRIC ACCESS STATE
   * CHANGED on an attached LU). A slot whose state changed is marked altered; the groups of a
   * first assignment are not.
   */
  synchronized boolean setAlua(AluaGroups groups) {
    AluaView before = alua;
    if (groups == null) {
      alua = null;
      return before != null;
    }
    if (before == null) {
      alua = new AluaView(groups, Set.of());
      return true;
    }
    Set<Integer> altered = new HashSet<>(before.altered());
    boolean changed = !before.groups().states().keySet().equals(groups.states().keySet());
    for (var e : groups.states().entrySet()) {
      if (before.groups().states().get(e.getKey()) != e.getValue()) {
        altered.add(e.getKey());
        changed = true;
      }
    }
    altered.retainAll(groups.states().keySet());
    alua = new AluaView(groups, altered);
    return changed;
  }

  boolean readOnly(ItNexus nexus) {
    return nexus.readOnly() || unit.readOnly();
  }
}
