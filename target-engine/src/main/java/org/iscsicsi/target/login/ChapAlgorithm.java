package org.iscsicsi.target.login;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * The CHAP digests this target accepts (CHAP_A values, the IANA PPP authentication algorithm
 * numbers RFC 7143 section 12.1.3 refers to), in order of preference: SHA-256, which open-iscsi
 * offers first ({@code CHAP_A=7,5}), then MD5, the only one libiscsi offers.
 */
public enum ChapAlgorithm {
  SHA_256(7, "SHA-256", 32, "sha256"),
  MD5(5, "MD5", 16, "md5");

  final int code;
  final String jcaName;
  final int challengeLength;
  private final String flagName;

  ChapAlgorithm(int code, String jcaName, int challengeLength, String flagName) {
    this.code = code;
    this.jcaName = jcaName;
    this.challengeLength = challengeLength;
    this.flagName = flagName;
  }

  /** The name used in settings: {@code sha256} or {@code md5}. */
  public String flagName() {
    return flagName;
  }

  /**
   * @throws IllegalArgumentException for anything but sha256 or md5 (any case)
   */
  public static ChapAlgorithm parse(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT).replace("-", "");
    for (ChapAlgorithm a : values()) {
      if (a.flagName.equals(n)) {
        return a;
      }
    }
    throw new IllegalArgumentException("unknown CHAP algorithm '" + name + "' (sha256 or md5)");
  }

  /** H(identifier || secret || challenge), RFC 1994 section 4.1. */
  byte[] digest(int id, byte[] secret, byte[] challenge) {
    try {
      MessageDigest md = MessageDigest.getInstance(jcaName);
      md.update((byte) id);
      md.update(secret);
      md.update(challenge);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(jcaName + " missing from the JDK", e);
    }
  }
}
