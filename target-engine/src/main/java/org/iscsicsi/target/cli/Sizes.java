package org.iscsicsi.target.cli;

import java.util.Locale;

/**
 * Byte sizes on the command line: a whole number with an optional binary suffix K, M, G, T; and
 * their short human form, which the controller's CLI shows too.
 */
public final class Sizes {

  private Sizes() {
  }

  static long parse(String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException("size is empty");
    }
    String t = s.strip().toUpperCase(Locale.ROOT);
    if (t.endsWith("IB")) {
      t = t.substring(0, t.length() - 2);
    } else if (t.endsWith("B") && t.length() > 1 && Character.isLetter(t.charAt(t.length() - 2))) {
      t = t.substring(0, t.length() - 1);
    }
    int shift = 0;
    char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
    switch (last) {
      case 'K' -> shift = 10;
      case 'M' -> shift = 20;
      case 'G' -> shift = 30;
      case 'T' -> shift = 40;
      default -> { }
    }
    String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
    if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException("size '" + s + "' is not a whole number with an "
          + "optional K, M, G or T suffix");
    }
    long n;
    try {
      n = Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size '" + s + "' is too large");
    }
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("size '" + s + "' is too large");
    }
    return n << shift;
  }

  /** A short human form: 1 GiB, 512 MiB, 1536 B. */
  public static String format(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    double v = bytes;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return v == Math.rint(v) ? String.format(Locale.ROOT, "%d %s", (long) v, units[i])
        : String.format(Locale.ROOT, "%.1f %s", v, units[i]);
  }
}
