package org.iscsicsi.controller.volume;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts written as Kubernetes quantities: plain bytes ({@code 1073741824}), binary
 * suffixes ({@code Ki Mi Gi Ti Pi}) and decimal ones ({@code k M G T P}), as in a PVC's
 * {@code resources.requests.storage}.
 */
public final class ByteQuantity {

  private static final Pattern QUANTITY =
      Pattern.compile("([0-9]{1,19})(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?");
  private static final Map<String, Long> FACTORS = Map.of(
      "Ki", 1L << 10, "Mi", 1L << 20, "Gi", 1L << 30, "Ti", 1L << 40, "Pi", 1L << 50,
      "k", 1_000L, "M", 1_000_000L, "G", 1_000_000_000L, "T", 1_000_000_000_000L,
      "P", 1_000_000_000_000_000L);

  private static final String[] BINARY_UNITS = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  private static final long KIB = 1L << 10;

  private ByteQuantity() {}

  /**
   * {@code bytes} for people, in the largest binary unit below it, with at most one decimal
   * rounded down ({@code 12Gi}, {@code 1.5Ti}, {@code 512}), so that a shortfall never reads
   * as more room than there is.
   */
  public static String format(long bytes) {
    if (bytes < KIB) {
      return Long.toString(bytes);
    }
    int unit = 0;
    long factor = KIB;
    while (unit + 1 < BINARY_UNITS.length && bytes / factor >= KIB) {
      factor <<= 10;
      unit++;
    }
    long whole = bytes / factor;
    long tenth = Math.min(9, (bytes % factor) / (factor / 10)); // no overflow near Ei
    return whole + (tenth == 0 ? "" : "." + tenth) + BINARY_UNITS[unit];
  }

  /**
   * The number of bytes {@code text} stands for.
   *
   * @throws IllegalArgumentException when it is not a whole, positive quantity or overflows
   */
  public static long parse(String text) {
    Matcher m = QUANTITY.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a byte count such as "
          + "1073741824, 100Gi or 500G");
    }
    try {
      long n = Long.parseLong(m.group(1));
      long bytes = m.group(2) == null ? n : Math.multiplyExact(n, FACTORS.get(m.group(2)));
      if (bytes <= 0) {
        throw new IllegalArgumentException("\"" + text + "\" is not positive");
      }
      return bytes;
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is more bytes than fit in 63 bits", e);
    }
  }
}
