package org.iscsicsi.target.login;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.ChapSecret;

/**
 * The target side of CHAP (RFC 7143 section 12.1.3, RFC 1994): picks the digest from CHAP_A among
 * the {@link LoginPolicy}'s, issues a SecureRandom challenge, checks the initiator's CHAP_N/CHAP_R
 * against the credentials this login may use and, for mutual CHAP, answers the initiator's
 * CHAP_I/CHAP_C with the outgoing secret. Reflected challenges (the initiator sending back this
 * target's own challenge) and challenges shorter than the policy's minimum are refused. Secrets
 * never reach a message.
 */
final class ChapAuthenticator {

  /** A credential the initiator may prove, and the target's own secret for mutual CHAP. */
  record Credential(ChapSecret incoming, Optional<ChapSecret> outgoing) {
  }

  private final List<Credential> candidates;
  private final LoginPolicy policy;
  private final SecureRandom random;
  private ChapAlgorithm algorithm;
  private int id;
  private byte[] challenge;

  /**
   * @param candidates the credentials that open this login: one for a normal session, for a
   *     discovery session possibly several (or none: then every response fails, as a wrong one)
   */
  ChapAuthenticator(List<Credential> candidates, LoginPolicy policy, SecureRandom random) {
    this.candidates = List.copyOf(candidates);
    this.policy = policy;
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
    List<String> offered = List.of(chapA.split(","));
    for (ChapAlgorithm a : policy.preference()) {
      if (offered.contains(Integer.toString(a.code))) {
        algorithm = a;
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
   * Checks CHAP_N and CHAP_R; for mutual CHAP answers with CHAP_N and CHAP_R. Every candidate is
   * computed and compared, so the time taken does not tell which user names exist.
   *
   * @return the credential the initiator proved
   * @throws LoginException AUTHENTICATION_FAILURE on a wrong name or response, a reflected,
   *     too short or malformed challenge, or mutual CHAP without an outgoing secret
   */
  Credential verify(Map<String, String> keys, Map<String, String> response)
      throws LoginException {
    String name = keys.get("CHAP_N");
    String r = keys.get("CHAP_R");
    if (name == null || r == null) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "CHAP_N or CHAP_R missing");
    }
    byte[] got = decodeBinary(r);
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    Credential proved = null;
    for (Credential c : candidates) {
      byte[] expected = algorithm.digest(id, c.incoming().secret(), challenge);
      boolean nameOk = MessageDigest.isEqual(nameBytes,
          c.incoming().user().getBytes(StandardCharsets.UTF_8));
      boolean responseOk = got != null && MessageDigest.isEqual(expected, got);
      if (nameOk && responseOk && proved == null) {
        proved = c;
      }
    }
    if (proved == null) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
          "CHAP response of user '" + name + "' does not match");
    }
    String mutualId = keys.get("CHAP_I");
    String mutualChallenge = keys.get("CHAP_C");
    if (mutualId == null && mutualChallenge == null) {
      return proved;
    }
    if (mutualId == null || mutualChallenge == null) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
          "mutual CHAP needs both CHAP_I and CHAP_C");
    }
    long theirId = KeyNegotiator.parseNumber(mutualId);
    byte[] theirChallenge = decodeBinary(mutualChallenge);
    if (theirId < 0 || theirId > 255 || theirChallenge == null || theirChallenge.length == 0
        || theirChallenge.length > LoginPolicy.MAX_CHALLENGE_BYTES) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "malformed CHAP_I/CHAP_C");
    }
    if (theirChallenge.length < policy.minInitiatorChallengeBytes()) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "CHAP_C of "
          + theirChallenge.length + " bytes is shorter than the required "
          + policy.minInitiatorChallengeBytes());
    }
    if (Arrays.equals(theirChallenge, challenge)) {
      throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE, "reflected CHAP challenge");
    }
    ChapSecret out = proved.outgoing().orElseThrow(() -> new LoginException(
        LoginStatus.AUTHENTICATION_FAILURE, "mutual CHAP requested but no target secret set"));
    byte[] answer = algorithm.digest((int) theirId, out.secret(), theirChallenge);
    response.put("CHAP_N", out.user());
    response.put("CHAP_R", "0x" + HexFormat.of().formatHex(answer));
    return proved;
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
