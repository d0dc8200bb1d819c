package org.iscsicsi.target.login;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.ChapSecret;

/**
 * The target side of CHAP (RFC 7143 section 12.1.3, RFC 1994): picks the digest from CHAP_A,
 * issues a SecureRandom challenge, checks the initiator's CHAP_N/CHAP_R and, for mutual CHAP,
 * answers the initiator's CHAP_I/CHAP_C with the outgoing secret. Reflected challenges (the
 * initiator sending back this target's own challenge) are refused. Secrets never reach a message.
 */
final class ChapAuthenticator {

  /** CHAP_A values (IANA PPP authentication algorithms) in order of preference. */
  enum Algorithm {
    SHA3_256(8, "SHA3-256", 32), SHA_256(7, "SHA-256", 32), SHA_1(6, "SHA-1", 20),
    MD5(5, "MD5", 16);

    final int code;
    final String jcaName;
    final int challengeLength;

    Algorithm(int code, String jcaName, int challengeLength) {
      this.code = code;
      this.jcaName = jcaName;
      this.challengeLength = challengeLength;
    }

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

  /** Only MD5 and SHA-256 are offered: what open-iscsi (CHAP_A=7,5) and libiscsi (5) send. */
  private static final List<Algorithm> ACCEPTED = List.of(Algorithm.SHA_256, Algorithm.MD5);

  private final ChapSecret incoming;
  private final Optional<ChapSecret> outgoing;
  private final SecureRandom random;
  private Algorithm algorithm;
  private int id;
  private byte[] challenge;

  ChapAuthenticator(ChapSecret incoming, Optional<ChapSecret> outgoing, SecureRandom random) {
    this.incoming = incoming;
    this.outgoing = outgoing;
    this.random = random;
  }

  boolean challengeSent() {
    return challenge != null;
  }

  /**
   * Answers CHAP_A with the chosen algorithm, CHAP_I and CHAP_C.
   *
   * @throws LoginException AUTHENTICATION_FAILURE when no offered algorithm is acceptable
   */
  void challenge(String chapA, Map<String, String> response) throws LoginException {
    for (String offered : chapA.split(",")) {
      for (Algorithm a : ACCEPTED) {
        if (offered.equals(Integer.toString(a.code))) {
          algorithm = a;
          break;
        }
      }
      if (algorithm != null) {
        break;
      }
    }
    if (algorithm == null) {
      response.put("CHAP_A", KeyNegotiator.REJECT);
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
          "no acceptable CHAP algorithm in CHAP_A=" + chapA);
    }
    id = random.nextInt(256);
    challenge = new byte[algorithm.challengeLength];
    random.nextBytes(challenge);
    response.put("CHAP_A", Integer.toString(algorithm.code));
    response.put("CHAP_I", Integer.toString(id));
    response.put("CHAP_C", "0x" + HexFormat.of().formatHex(challenge));
  }

  /**
   * Checks CHAP_N and CHAP_R; for mutual CHAP answers with CHAP_N and CHAP_R.
   *
   * @throws LoginException AUTHENTICATION_FAILURE on a wrong name or response, a reflected or
   *     malformed challenge, or mutual CHAP without an outgoing secret
   */
  void verify(Map<String, String> keys, Map<String, String> response) throws LoginException {
    String name = keys.get("CHAP_N");
    String r = keys.get("CHAP_R");
    if (name == null || r == null) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "CHAP_N or CHAP_R missing");
    }
    byte[] expected = algorithm.digest(id, incoming.secret(), challenge);
    byte[] got = decodeBinary(r);
    boolean nameOk = MessageDigest.isEqual(name.getBytes(StandardCharsets.UTF_8),
        incoming.user().getBytes(StandardCharsets.UTF_8));
    if (got == null || !MessageDigest.isEqual(expected, got) || !nameOk) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
          "CHAP response of user '" + name + "' does not match");
    }
    String mutualId = keys.get("CHAP_I");
    String mutualChallenge = keys.get("CHAP_C");
    if (mutualId == null && mutualChallenge == null) {
      return;
    }
    if (mutualId == null || mutualChallenge == null) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
          "mutual CHAP needs both CHAP_I and CHAP_C");
    }
    long theirId = KeyNegotiator.parseNumber(mutualId);
    byte[] theirChallenge = decodeBinary(mutualChallenge);
    if (theirId < 0 || theirId > 255 || theirChallenge == null || theirChallenge.length == 0) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "malformed CHAP_I/CHAP_C");
    }
    if (Arrays.equals(theirChallenge, challenge)) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "reflected CHAP challenge");
    }
    ChapSecret out = outgoing.orElseThrow(() -> new LoginException(
        LoginStatus.AUTHENTICATION_FAILURE, "mutual CHAP requested but no target secret set"));
    byte[] answer = algorithm.digest((int) theirId, out.secret(), theirChallenge);
    response.put("CHAP_N", out.user());
    response.put("CHAP_R", "0x" + HexFormat.of().formatHex(answer));
  }

  /** Binary values: 0x hex or 0b base64 (section 6.1); null when malformed. */
  static byte[] decodeBinary(String value) {
    try {
      if (value.length() > 2 && (value.startsWith("0x") || value.startsWith("0X"))) {
        String hex = value.substring(2);
        return HexFormat.of().parseHex(hex.length() % 2 == 1 ? "0" + hex : hex);
      }
      if (value.length() > 2 && (value.startsWith("0b") || value.startsWith("0B"))) {
        return Base64.getDecoder().decode(value.substring(2));
      }
    } catch (IllegalArgumentException e) {
      return null;
    }
    return null;
  }
}
