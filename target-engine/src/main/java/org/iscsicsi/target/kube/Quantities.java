package org.iscsicsi.target.kube;

/**
 * Byte counts as Kubernetes-style binary quantities for printer columns: whole units, rounded
 * down, in the largest unit (Ki, Mi, Gi, Ti, Pi) that still shows at least 10 of it, so
 * {@code 1863Gi} rather than {@code 1Ti}; {@code 0} for nothing.
 */
final class Quantities {

  private static final String[] UNITS = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  private static final int SHOWN_AT_LEAST = 10;
  private static final int PERCENT = 100;

  private Quantities() {
  }

  static String binary(long bytes) {
    if (bytes <= 0) {
      return "0";
    }
    int unit = 0;
    while (unit < UNITS.length - 1 && (bytes >> (10 * (unit + 1))) >= SHOWN_AT_LEAST) {
      unit++;
    }
    return (bytes >> (10 * unit)) + UNITS[unit];
  }

  /** {@code "412Gi (22%)"}: a part and its share of the whole, the share rounded down. */
  static String share(long part, long whole) {
    long percent = whole <= 0 ? 0 : (long) ((double) part * PERCENT / whole);
    return binary(part) + " (" + percent + "%)";
  }
}
