package org.iscsicsi.target.scsi;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The ALUA view of one logical unit (SPC-4 5.16): the port slot through which this engine serves
 * it, which is its target port group and relative target port identifier, and the access state
 * of every target port group of the logical unit (this engine's and those of the other engines
 * that export the same identity), reported in REPORT TARGET PORT GROUPS in slot order.
 *
 * @param slot this engine's port slot, 1 to {@value #MAX_SLOT}
 * @param states the state of each slot's port group; it always holds {@code slot}
 */
public record AluaGroups(int slot, SortedMap<Integer, AccessState> states) {

  /** Relative target port identifiers and target port groups are 16-bit; 0 is reserved. */
  public static final int MAX_SLOT = 0xffff;
  /** Port groups one logical unit may report (one descriptor each). */
  public static final int MAX_GROUPS = 32;

  public AluaGroups {
    checkSlot(slot);
    if (states == null || states.isEmpty()) {
      throw new IllegalArgumentException("ALUA states must name at least this port's slot "
          + slot);
    }
    if (states.size() > MAX_GROUPS) {
      throw new IllegalArgumentException("at most " + MAX_GROUPS + " port groups, not "
          + states.size());
    }
    for (Map.Entry<Integer, AccessState> e : states.entrySet()) {
      checkSlot(e.getKey());
      if (e.getValue() == null) {
        throw new IllegalArgumentException("slot " + e.getKey() + " has no ALUA state");
      }
    }
    if (!states.containsKey(slot)) {
      throw new IllegalArgumentException("ALUA states must include this port's slot " + slot);
    }
    states = Collections.unmodifiableSortedMap(new TreeMap<>(states));
  }

  /** A logical unit served through {@code slot} alone, active/optimized. */
  public static AluaGroups single(int slot) {
    return new AluaGroups(slot, new TreeMap<>(Map.of(slot, AccessState.ACTIVE_OPTIMIZED)));
  }

  /** The same slot with other states for the groups. */
  public AluaGroups withStates(Map<Integer, AccessState> newStates) {
    return new AluaGroups(slot, newStates == null ? null : new TreeMap<>(newStates));
  }

  /** The state of this engine's own port. */
  public AccessState own() {
    return states.get(slot);
  }

  private static void checkSlot(Integer s) {
    if (s == null || s < 1 || s > MAX_SLOT) {
      throw new IllegalArgumentException("a port slot is 1 to " + MAX_SLOT + ": " + s);
    }
  }
}
