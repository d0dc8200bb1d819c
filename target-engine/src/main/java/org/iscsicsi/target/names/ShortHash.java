package org.iscsicsi.target.names;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A short stand-in for a name that does not fit a naming rule: the first 24 hex digits (96 bits)
 * of its SHA-256, so two names share it only by a collision.
 */
public final class ShortHash {

  public static final int HEX_DIGITS = 24;

  private ShortHash() {
  }

  public static String of(String name) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(name.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, HEX_DIGITS);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
