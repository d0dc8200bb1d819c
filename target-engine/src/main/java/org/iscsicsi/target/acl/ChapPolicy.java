package org.iscsicsi.target.acl;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What CHAP user names and secrets this engine accepts (RFC 7143 section 12.1.3 and 9.2.1).
 *
 * <ul>
 *   <li>Secrets of at least 12 bytes (96 bits): RFC 7143 section 9.2.1 requires IPsec below that,
 *       and Windows and several Linux initiator setups refuse shorter ones.</li>
 *   <li>At most 255 bytes: open-iscsi keeps secrets in a 256-byte buffer with a terminating NUL.
 *   </li>
 *   <li>The mutual (target) secret must differ from the initiator's: the same secret in both
 *       directions lets a rogue target replay an initiator's response (RFC 7143 section 9.2.1).
 *   </li>
 * </ul>
 *
 * <p>Messages never contain a secret.
 */
public final class ChapPolicy {

  public static final int MIN_SECRET_BYTES = 12;
  public static final int MAX_SECRET_BYTES = 255;
  public static final int MAX_USER_BYTES = 255;

  private ChapPolicy() {
  }

  /** Validates a user name and secret and returns them as a {@link ChapSecret}. */
  public static ChapSecret secret(String role, String user, byte[] secret) {
    validateUser(role, user);
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException(role + " CHAP secret is empty");
    }
    if (secret.length < MIN_SECRET_BYTES || secret.length > MAX_SECRET_BYTES) {
      throw new IllegalArgumentException(role + " CHAP secret must be " + MIN_SECRET_BYTES + " to "
          + MAX_SECRET_BYTES + " bytes long, not " + secret.length + " (RFC 7143 section 9.2.1)");
    }
    return new ChapSecret(user, secret);
  }

  /** Checks that incoming and outgoing secrets differ. */
  public static void checkDistinct(ChapSecret incoming, ChapSecret outgoing) {
    if (Arrays.equals(incoming.secret(), outgoing.secret())) {
      throw new IllegalArgumentException("the mutual CHAP secret must differ from the initiator's "
          + "CHAP secret (RFC 7143 section 9.2.1)");
    }
  }

  private static void validateUser(String role, String user) {
    if (user == null || user.isEmpty()) {
      throw new IllegalArgumentException(role + " CHAP user name is empty");
    }
    if (user.getBytes(StandardCharsets.UTF_8).length > MAX_USER_BYTES) {
      throw new IllegalArgumentException(role + " CHAP user name is longer than " + MAX_USER_BYTES
          + " bytes");
    }
    if (user.codePoints().anyMatch(c -> Character.isISOControl(c))) {
      throw new IllegalArgumentException(role + " CHAP user name contains control characters");
    }
  }
}
