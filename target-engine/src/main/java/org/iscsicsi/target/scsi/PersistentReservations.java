package org.iscsicsi.target.scsi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Persistent reservations of one logical unit (SPC-4 5.12): registrations per I_T nexus, at most
 * one reservation of any of the six types, and the access rules of SPC-4 5.12.1.
 * Registrations survive nexus loss and resets; they do not survive an engine restart (APTPL is not
 * offered: PTPL_C = 0).
 */
final class PersistentReservations {

  static final int WRITE_EXCLUSIVE = 1;
  static final int EXCLUSIVE_ACCESS = 3;
  static final int WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5;
  static final int EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6;
  static final int WRITE_EXCLUSIVE_ALL_REGISTRANTS = 7;
  static final int EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 8;

  private final Map<NexusId, Long> registrations = new LinkedHashMap<>();
  private int generation;
  private NexusId holder;
  private int type;

  /** Where to raise unit attentions: (nexus, sense). */
  private final BiConsumer<NexusId, Sense> attention;

  PersistentReservations(BiConsumer<NexusId, Sense> attention) {
    this.attention = attention;
  }

  synchronized boolean reserved() {
    return type != 0;
  }

  private static boolean allRegistrants(int type) {
    return type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
  }

  private static boolean registrantsOnly(int type) {
    return type == WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type == EXCLUSIVE_ACCESS_REGISTRANTS_ONLY;
  }

  private boolean isHolder(NexusId nexus) {
    if (type == 0) {
      return false;
    }
    return allRegistrants(type) ? registrations.containsKey(nexus) : nexus.equals(holder);
  }

  /** Whether a command of the given access class from {@code nexus} conflicts (SPC-4 5.12.1). */
  synchronized boolean conflicts(NexusId nexus, Access access) {
    if (type == 0 || access == Access.ALWAYS || access == Access.PERSISTENT_RESERVE_OUT) {
      return false;
    }
    if (isHolder(nexus)) {
      return false;
    }
    if (access == Access.LEGACY_RESERVATION) {
      return true;
    }
    boolean registered = registrations.containsKey(nexus);
    boolean exclusiveAccess = type == EXCLUSIVE_ACCESS || type == EXCLUSIVE_ACCESS_REGISTRANTS_ONLY
        || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
    if (registered && (registrantsOnly(type) || allRegistrants(type))) {
      return false;
    }
    return access == Access.WRITE || exclusiveAccess;
  }

  // ---- PERSISTENT RESERVE IN ----

  synchronized byte[] readKeys() {
    byte[] d = new byte[8 + 8 * registrations.size()];
    Cdb.put32(d, 0, generation);
    Cdb.put32(d, 4, 8L * registrations.size());
    int p = 8;
    for (long key : registrations.values()) {
      Cdb.put64(d, p, key);
      p += 8;
    }
    return d;
  }

  synchronized byte[] readReservation() {
    byte[] d = new byte[type == 0 ? 8 : 24];
    Cdb.put32(d, 0, generation);
    if (type != 0) {
      Cdb.put32(d, 4, 16);
      Cdb.put64(d, 8, allRegistrants(type) ? 0 : registrations.getOrDefault(holder, 0L));
      d[21] = (byte) type; // scope 0: LU_SCOPE
    }
    return d;
  }

  static byte[] reportCapabilities() {
    byte[] d = new byte[8];
    Cdb.put16(d, 0, 8);
    // CRH: RESERVE/RELEASE(6/10) are handled as SPC-4 5.13.3 says; SIP_C, ATP_C, PTPL_C 0
    d[2] = 0x10;
    d[3] = (byte) 0x80 | 0x10; // TMV, ALLOW COMMANDS 001b
    d[4] = (byte) (0x80 | 0x40 | 0x20 | 0x08 | 0x02); // WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX
    d[5] = 0x01; // EX_AC_AR
    return d;
  }

  synchronized byte[] readFullStatus(int relativeTargetPort) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Map.Entry<NexusId, Long> e : registrations.entrySet()) {
      byte[] transportId = transportId(e.getKey().initiatorPort());
      byte[] d = new byte[24 + transportId.length];
      Cdb.put64(d, 0, e.getValue());
      if (isHolder(e.getKey())) {
        d[12] = 0x01;
        d[13] = (byte) type;
      }
      Cdb.put16(d, 18, relativeTargetPort);
      Cdb.put32(d, 20, transportId.length);
      System.arraycopy(transportId, 0, d, 24, transportId.length);
      out.writeBytes(d);
    }
    byte[] body = out.toByteArray();
    byte[] all = new byte[8 + body.length];
    Cdb.put32(all, 0, generation);
    Cdb.put32(all, 4, body.length);
    System.arraycopy(body, 0, all, 8, body.length);
    return all;
  }

  /** iSCSI TransportID, format 01b: initiator port name "iqn...,i,0xISID" (SPC-4 7.6.4.6). */
  static byte[] transportId(String initiatorPort) {
    byte[] name = initiatorPort.getBytes(StandardCharsets.UTF_8);
    int padded = (name.length + 1 + 3) / 4 * 4;
    byte[] id = new byte[4 + padded];
    id[0] = 0x45;
    Cdb.put16(id, 2, padded);
    System.arraycopy(name, 0, id, 4, name.length);
    return id;
  }

  // ---- PERSISTENT RESERVE OUT ----

  /** REGISTER (ignoreExisting false) and REGISTER AND IGNORE EXISTING KEY. */
  synchronized void register(NexusId nexus, long key, long newKey, boolean ignoreExisting)
      throws CheckCondition {
    Long current = registrations.get(nexus);
    if (current == null) {
      if (!ignoreExisting && key != 0) {
        throw CheckCondition.reservationConflict();
      }
      if (newKey != 0) {
        registrations.put(nexus, newKey);
      }
      generation++;
      return;
    }
    if (!ignoreExisting && current != key) {
      throw CheckCondition.reservationConflict();
    }
    if (newKey == 0) {
      unregister(nexus);
    } else {
      registrations.put(nexus, newKey);
    }
    generation++;
  }

  private void unregister(NexusId nexus) {
    boolean wasHolder = isHolder(nexus);
    registrations.remove(nexus);
    if (!wasHolder) {
      return;
    }
    if (allRegistrants(type)) {
      if (registrations.isEmpty()) {
        clearReservation();
      }
      return;
    }
    int released = type;
    clearReservation();
    if (registrantsOnly(released)) {
      registrations.keySet().forEach(n -> attention.accept(n, Sense.RESERVATIONS_RELEASED));
    }
  }

  private void clearReservation() {
    holder = null;
    type = 0;
  }

  synchronized void reserve(NexusId nexus, long key, int newType) throws CheckCondition {
    requireRegistered(nexus, key);
    if (type != 0) {
      if (isHolder(nexus) && type == newType) {
        return;
      }
      throw CheckCondition.reservationConflict();
    }
    holder = nexus;
    type = newType;
  }

  synchronized void release(NexusId nexus, long key, int releaseType) throws CheckCondition {
    requireRegistered(nexus, key);
    if (type == 0 || !isHolder(nexus)) {
      return;
    }
    if (releaseType != type) {
      throw new CheckCondition(Sense.INVALID_RELEASE_OF_PR);
    }
    int released = type;
    clearReservation();
    if (released != WRITE_EXCLUSIVE && released != EXCLUSIVE_ACCESS) {
      registrations.keySet().stream().filter(n -> !n.equals(nexus))
          .forEach(n -> attention.accept(n, Sense.RESERVATIONS_RELEASED));
    }
  }

  synchronized void clear(NexusId nexus, long key) throws CheckCondition {
    requireRegistered(nexus, key);
    registrations.keySet().stream().filter(n -> !n.equals(nexus))
        .forEach(n -> attention.accept(n, Sense.RESERVATIONS_PREEMPTED));
    registrations.clear();
    clearReservation();
    generation++;
  }

  /** PREEMPT and PREEMPT AND ABORT (SPC-4 5.12.11.4). */
  synchronized void preempt(NexusId nexus, long key, long victimKey, int newType)
      throws CheckCondition {
    requireRegistered(nexus, key);
    if (type != 0 && allRegistrants(type)) {
      if (victimKey == 0) {
        List<NexusId> removed = removeRegistrations(nexus, null);
        holder = nexus;
        type = newType;
        removed.forEach(n -> attention.accept(n, Sense.REGISTRATIONS_PREEMPTED));
      } else {
        removeKey(nexus, victimKey, false);
      }
      generation++;
      return;
    }
    if (type != 0 && registrations.getOrDefault(holder, 0L) == victimKey) {
      List<NexusId> removed = removeRegistrations(nexus, victimKey);
      int oldType = type;
      holder = nexus;
      type = newType;
      removed.forEach(n -> attention.accept(n, Sense.REGISTRATIONS_PREEMPTED));
      if (oldType != newType) {
        registrations.keySet().stream().filter(n -> !n.equals(nexus) && !removed.contains(n))
            .forEach(n -> attention.accept(n, Sense.RESERVATIONS_RELEASED));
      }
      generation++;
      return;
    }
    if (victimKey == 0) {
      throw CheckCondition.invalidParameterField(8, -1);
    }
    removeKey(nexus, victimKey, true);
    generation++;
  }

  private void removeKey(NexusId nexus, long victimKey, boolean conflictWhenNone)
      throws CheckCondition {
    List<NexusId> removed = removeRegistrations(nexus, victimKey);
    if (removed.isEmpty() && conflictWhenNone) {
      throw CheckCondition.reservationConflict();
    }
    removed.forEach(n -> attention.accept(n, Sense.REGISTRATIONS_PREEMPTED));
  }

  /** Removes the registrations with {@code victimKey} (all when null), except the caller's. */
  private List<NexusId> removeRegistrations(NexusId keep, Long victimKey) {
    List<NexusId> removed = new ArrayList<>();
    registrations.entrySet().removeIf(e -> {
      boolean remove = !e.getKey().equals(keep)
          && (victimKey == null || e.getValue().longValue() == victimKey);
      if (remove) {
        removed.add(e.getKey());
      }
      return remove;
    });
    return removed;
  }

  private void requireRegistered(NexusId nexus, long key) throws CheckCondition {
    Long current = registrations.get(nexus);
    if (current == null || current != key) {
      throw CheckCondition.reservationConflict();
    }
  }
}
