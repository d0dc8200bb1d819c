package org.iscsicsi.target.scsi;

import java.util.Arrays;
import java.util.Locale;

/**
 * The asymmetric access states of a target port group (SPC-4 5.16.2.4) this engine reports, with
 * their codes in REPORT TARGET PORT GROUPS, and what a command gets on a port in that state.
 */
public enum AccessState {
  /** Every command, at full speed (code 0h). */
  ACTIVE_OPTIMIZED(0x0),
  /** Every command; initiators prefer optimized ports (code 1h). */
  ACTIVE_NON_OPTIMIZED(0x1),
  /** Inquiry, reservations, mode and capacity data only; NOT READY 04h/0Bh for media access. */
  STANDBY(0x2),
  /** Inquiry, REPORT LUNS, port groups, capacity only; NOT READY 04h/0Ch otherwise. */
  UNAVAILABLE(0x3),
  /** Between two states: inquiry and port groups only; NOT READY 04h/0Ah otherwise (code Fh). */
  TRANSITIONING(0xf);

  private final int code;

  AccessState(int code) {
    this.code = code;
  }

  /** The ASYMMETRIC ACCESS STATE field's value. */
  public int code() {
    return code;
  }

  /** Lower case with dashes ("active-optimized"), as the CLI spells it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** A state by its {@link #label()} or enum name, any case; IllegalArgumentException otherwise. */
  public static AccessState parse(String s) {
    String n = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    return Arrays.stream(values()).filter(v -> v.name().equals(n)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown ALUA state '" + s + "' (one of "
            + String.join(", ", Arrays.stream(values()).map(AccessState::label).toList()) + ")"));
  }
}
