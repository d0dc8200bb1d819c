package org.iscsicsi.target.login;

import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.iscsicsi.target.acl.ChapSecret;

/**
 * Engine-wide rules for authenticating logins.
 *
 * @param chapAlgorithms the CHAP digests accepted; the target picks the first of these (in
 *     {@link ChapAlgorithm} order) that the initiator offers
 * @param minInitiatorChallengeBytes the shortest CHAP_C an initiator may send for mutual CHAP: a
 *     short challenge lets a rogue initiator collect the target's responses to a small set of
 *     challenges and replay them when it poses as the target
 * @param discoveryAuth whether SendTargets discovery sessions must authenticate with CHAP
 * @param discoverySecret the credential discovery sessions authenticate with; when empty, the
 *     incoming CHAP credential of any target that grants the initiator
 */
public record LoginPolicy(Set<ChapAlgorithm> chapAlgorithms, int minInitiatorChallengeBytes,
    boolean discoveryAuth, Optional<ChapSecret> discoverySecret) {

  /** 16 bytes, the MD5 output size and what open-iscsi sends for MD5. */
  public static final int DEFAULT_MIN_CHALLENGE_BYTES = 16;
  /** Longest CHAP_C accepted at all (open-iscsi sends at most 1024 bytes of challenge). */
  public static final int MAX_CHALLENGE_BYTES = 1024;

  public LoginPolicy {
    Objects.requireNonNull(discoverySecret, "discoverySecret");
    if (chapAlgorithms == null || chapAlgorithms.isEmpty()) {
      throw new IllegalArgumentException("at least one CHAP algorithm must be accepted");
    }
    chapAlgorithms = Set.copyOf(EnumSet.copyOf(chapAlgorithms));
    if (minInitiatorChallengeBytes < 1 || minInitiatorChallengeBytes > MAX_CHALLENGE_BYTES) {
      throw new IllegalArgumentException("minimum CHAP challenge must be 1 to "
          + MAX_CHALLENGE_BYTES + " bytes, not " + minInitiatorChallengeBytes);
    }
  }

  /** SHA-256 and MD5 accepted, 16-byte initiator challenges, discovery needs CHAP. */
  public static LoginPolicy defaults() {
    return new LoginPolicy(EnumSet.allOf(ChapAlgorithm.class), DEFAULT_MIN_CHALLENGE_BYTES, true,
        Optional.empty());
  }

  /** The accepted algorithms in order of preference. */
  public List<ChapAlgorithm> preference() {
    return EnumSet.copyOf(chapAlgorithms).stream().toList();
  }

  public LoginPolicy withChapAlgorithms(Set<ChapAlgorithm> algorithms) {
    return new LoginPolicy(algorithms, minInitiatorChallengeBytes, discoveryAuth,
        discoverySecret);
  }

  public LoginPolicy withMinInitiatorChallengeBytes(int bytes) {
    return new LoginPolicy(chapAlgorithms, bytes, discoveryAuth, discoverySecret);
  }

  public LoginPolicy withDiscoveryAuth(boolean required) {
    return new LoginPolicy(chapAlgorithms, minInitiatorChallengeBytes, required,
        discoverySecret);
  }

  public LoginPolicy withDiscoverySecret(Optional<ChapSecret> secret) {
    return new LoginPolicy(chapAlgorithms, minInitiatorChallengeBytes, discoveryAuth, secret);
  }
}
