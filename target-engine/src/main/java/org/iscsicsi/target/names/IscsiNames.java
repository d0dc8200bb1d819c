package org.iscsicsi.target.names;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * iSCSI names: validation of the three formats of RFC 3720 section 3.2.6.3 ({@code iqn.},
 * {@code eui.}) and RFC 3980 ({@code naa.}), normalization as RFC 3722's stringprep profile asks
 * (NFKC and case folding), and a generator of unique IQNs like open-iscsi's {@code iscsi-iname}.
 *
 * <p>Names are compared in normalized form: an initiator that sends {@code IQN.1993-08.Org.Debian}
 * is the same initiator as {@code iqn.1993-08.org.debian}.
 */
public final class IscsiNames {

  /** RFC 3720 section 3.2.6.1: at most 223 bytes of UTF-8. */
  public static final int MAX_BYTES = 223;

  /** The prefix of generated names when none is given. */
  public static final String DEFAULT_PREFIX = "iqn.2026-11.org.iscsicsi";

  // "iqn." yyyy-mm "." reversed domain name [":" unique string]
  private static final Pattern IQN = Pattern.compile(
      "iqn\\.(\\d{4})-(\\d{2})\\.([^:]+)(?::(.*))?");
  private static final Pattern DOMAIN_LABEL = Pattern.compile("[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]*"
      + "[\\p{L}\\p{N}])?");
  private static final Pattern EUI = Pattern.compile("eui\\.[0-9a-f]{16}");
  private static final Pattern NAA = Pattern.compile("naa\\.(?:[0-9a-f]{16}|[0-9a-f]{32})");
  private static final SecureRandom RANDOM = new SecureRandom();

  private IscsiNames() {
  }

  /**
   * The normalized form of a name (RFC 3722: NFKC, then lower case), without validating it.
   */
  public static String normalize(String name) {
    return Normalizer.normalize(name, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
  }

  /**
   * Checks a name and returns its normalized form.
   *
   * @throws IllegalArgumentException with a message that says what is wrong
   */
  public static String validate(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("iSCSI name is empty");
    }
    String n = normalize(name.strip().equals(name) ? name : fail(name, "has surrounding blanks"));
    if (n.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      fail(name, "is longer than " + MAX_BYTES + " bytes (RFC 3720 section 3.2.6.1)");
    }
    if (n.startsWith("iqn.")) {
      validateIqn(name, n);
    } else if (n.startsWith("eui.")) {
      if (!EUI.matcher(n).matches()) {
        fail(name, "is not 'eui.' followed by 16 hex digits (RFC 3720 section 3.2.6.3.2)");
      }
    } else if (n.startsWith("naa.")) {
      if (!NAA.matcher(n).matches()) {
        fail(name, "is not 'naa.' followed by 16 or 32 hex digits (RFC 3980)");
      }
    } else {
      fail(name, "does not start with iqn., eui. or naa.");
    }
    return n;
  }

  /** Whether {@link #validate} would accept the name. */
  public static boolean isValid(String name) {
    try {
      validate(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * A new unique IQN: the prefix, a colon and 12 random hex digits, as {@code iscsi-iname} makes.
   *
   * @param prefix an iqn. name without the unique part (e.g. {@code iqn.2026-11.com.example}), or
   *     null for {@link #DEFAULT_PREFIX}
   */
  public static String generate(String prefix) {
    String p = prefix == null ? DEFAULT_PREFIX : prefix;
    String n = validate(p);
    if (!n.startsWith("iqn.")) {
      throw new IllegalArgumentException("prefix '" + p + "' is not an iqn. name");
    }
    byte[] random = new byte[6];
    RANDOM.nextBytes(random);
    return validate(n + ":" + HexFormat.of().formatHex(random));
  }

  private static void validateIqn(String original, String n) {
    var m = IQN.matcher(n);
    if (!m.matches()) {
      fail(original, "is not 'iqn.yyyy-mm.reversed.domain[:unique]' (RFC 3720 section 3.2.6.3.1)");
    }
    int month = Integer.parseInt(m.group(2));
    int year = Integer.parseInt(m.group(1));
    if (month < 1 || month > 12 || year < 1900) {
      fail(original, "has an invalid date '" + m.group(1) + "-" + m.group(2) + "'");
    }
    for (String label : m.group(3).split("\\.", -1)) {
      if (!DOMAIN_LABEL.matcher(label).matches()) {
        fail(original, "has an invalid naming authority '" + m.group(3)
            + "' (reversed domain name labels of letters, digits and inner hyphens)");
      }
    }
    String unique = m.group(4);
    if (unique != null) {
      if (unique.isEmpty()) {
        fail(original, "ends with ':' but has nothing after it");
      }
      allowedChars(original, unique);
    }
  }

  // RFC 3722 section 6: after stringprep only ASCII dash, dot, colon, lower-case letters, digits
  // and non-ASCII letters and digits remain.
  private static void allowedChars(String original, String s) {
    s.codePoints().forEach(c -> {
      boolean ok = c == '-' || c == '.' || c == ':' || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9') || (c > 0x7f && Character.isLetterOrDigit(c));
      if (!ok) {
        fail(original, "contains '" + new String(Character.toChars(c))
            + "' (allowed: a-z, 0-9, '-', '.', ':', and non-ASCII letters; RFC 3722)");
      }
    });
  }

  private static String fail(String name, String why) {
    throw new IllegalArgumentException("invalid iSCSI name '" + name + "': " + why);
  }
}
