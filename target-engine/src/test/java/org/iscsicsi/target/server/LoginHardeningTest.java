package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.login.ChapAlgorithm;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.login.LoginStateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Login hardening over TCP against a real {@link IscsiServer}: discovery needs CHAP by default and
 * a target's credential discovers only the targets it opens (an engine discovery secret: every
 * granted one; an initiator granted nothing: an empty answer); SHA-256-only refuses MD5; a short
 * mutual CHAP challenge is refused; invalid or control-character names are refused and a missing
 * target answers like an ungranted one; a failed impersonation leaves the real session running;
 * login text over the ceiling is refused; a login that trickles bytes or C-bit PDUs is still cut
 * at the login timeout; connections per source are bounded; repeated CHAP failures from one
 * address back it off while another address logs in.
 */
class LoginHardeningTest {

  static final String A = "iqn.2026-11.org.iscsicsi:hard-a";
  static final String B = "iqn.2026-11.org.iscsicsi:hard-b";
  static final String HIDDEN = "iqn.2026-11.org.iscsicsi:hard-hidden";
  static final String NODE = "iqn.2026-11.org.iscsicsi.test:node";
  static final String STRANGER = "iqn.2026-11.org.iscsicsi.test:stranger";
  static final String SECRET_A = "secret-of-a-0123";
  static final String SECRET_B = "secret-of-b-0123";
  static final String DISCOVERY_SECRET = "discovery-secret-0123";
  static final int NOT_FOUND = 0x0203;
  static final int AUTH_FAILURE = 0x0201;
  static final int INITIATOR_ERROR = 0x0200;
  static final int SERVICE_UNAVAILABLE = 0x0301;

  @TempDir
  Path dir;
  TestTargets targets;
  IscsiServer server;

  IscsiServer start(UnaryOperator<IscsiServerConfig> tune) throws Exception {
    targets = new TestTargets();
    targets.add(A, Map.of(NODE, AccessLevel.READ_WRITE), Optional.of(chap("user-a", SECRET_A)),
        Optional.empty(), Map.of(), dir, 1 << 20);
    targets.add(B, Map.of(NODE, AccessLevel.READ_WRITE), Optional.of(chap("user-b", SECRET_B)),
        Optional.empty(), Map.of(), dir, 1 << 20);
    targets.add(HIDDEN, Map.of("iqn.2026-11.org.iscsicsi.test:other", AccessLevel.READ_WRITE),
        Optional.of(chap("user-a", SECRET_A)), Optional.empty(), Map.of(), dir, 1 << 20);
    server = new IscsiServer(tune.apply(IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
        .withTimeouts(Duration.ofSeconds(3), Duration.ZERO)), targets);
    server.start();
    return server;
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (targets != null) {
      targets.close();
    }
  }

  static ChapSecret chap(String user, String secret) {
    return new ChapSecret(user, secret.getBytes(StandardCharsets.UTF_8));
  }

  static String sendTargets(RawInitiator r) throws Exception {
    r.text("SendTargets=All\0", 7, -1);
    return new String(r.read().data(), StandardCharsets.UTF_8);
  }

  @Test
  void discoveryNeedsChapAndSeesOnlyWhatItsCredentialOpens() throws Exception {
    start(c -> c);
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.login(NODE, null, Map.of())))
          .as("discovery without CHAP").isEqualTo(AUTH_FAILURE);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, null, "user-a", SECRET_A, "7,5")))
          .isZero();
      assertThat(sendTargets(r)).contains("TargetName=" + A).doesNotContain(B)
          .doesNotContain(HIDDEN);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, null, "user-b", SECRET_B, "5")))
          .isZero();
      assertThat(sendTargets(r)).contains("TargetName=" + B).doesNotContain(A);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(STRANGER, null, "user-a", SECRET_A, "5")))
          .as("a credential of a target that does not grant this initiator")
          .isEqualTo(AUTH_FAILURE);
    }
  }

  @Test
  void discoverySecretShowsEveryGrantedTargetAndNothingToStrangers() throws Exception {
    start(c -> c.withLoginPolicy(LoginPolicy.defaults()
        .withDiscoverySecret(Optional.of(chap("discovery", DISCOVERY_SECRET)))));
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, null, "user-a", SECRET_A, "5")))
          .as("target credentials do not open discovery once a discovery secret is set")
          .isEqualTo(AUTH_FAILURE);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      r.chapLogin(NODE, null, "discovery", DISCOVERY_SECRET, "7");
      assertThat(sendTargets(r)).contains(A).contains(B).doesNotContain(HIDDEN);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(
          r.chapLogin(STRANGER, null, "discovery", DISCOVERY_SECRET, "7"))).isZero();
      assertThat(sendTargets(r)).as("initiator granted nothing").isEmpty();
    }
  }

  @Test
  void withoutDiscoveryAuthAStrangerGetsAnEmptyAnswer() throws Exception {
    start(c -> c.withLoginPolicy(LoginPolicy.defaults().withDiscoveryAuth(false)));
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.login(STRANGER, null, Map.of()))).isZero();
      assertThat(sendTargets(r)).isEmpty();
    }
  }

  @Test
  void sha256OnlyRefusesMd5AndShortChallengesAreRefused() throws Exception {
    start(c -> c.withLoginPolicy(LoginPolicy.defaults()
        .withChapAlgorithms(EnumSet.of(ChapAlgorithm.SHA_256))));
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, A, "user-a", SECRET_A, "5")))
          .isEqualTo(AUTH_FAILURE);
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, A, "user-a", SECRET_A, "7,5")))
          .isZero();
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      r.loginPdu(0, 1, false, false, "InitiatorName=" + NODE + "\0SessionType=Normal\0"
          + "TargetName=" + A + "\0AuthMethod=CHAP\0", 0);
      var challenge = RawInitiator.keys(r.loginPdu(0, 1, false, false, "CHAP_A=7\0", 0));
      String response = RawInitiator.chapResponse("SHA-256",
          Integer.parseInt(challenge.get("CHAP_I")), SECRET_A, challenge.get("CHAP_C"));
      var done = r.loginPdu(0, 1, true, false, "CHAP_N=user-a\0CHAP_R=" + response
          + "\0CHAP_I=1\0CHAP_C=0x0102030405060708\0", 0);
      assertThat(RawInitiator.loginStatus(done)).as("8-byte CHAP_C").isEqualTo(AUTH_FAILURE);
    }
  }

  @Test
  void invalidNamesAreRefusedAndMissingLooksLikeUngranted() throws Exception {
    start(c -> c);
    for (String bad : new String[] {"iqn.2026-11.org.example:evil\nFAKE LOG LINE", "bogus",
        "iqn.2026-11.org.example:" + "x".repeat(300), "iqn.2026-11.org.example:\u001b[31m"}) {
      try (RawInitiator r = new RawInitiator(server.boundPort())) {
        assertThat(RawInitiator.loginStatus(r.login(bad, A, Map.of()))).as(bad)
            .isEqualTo(INITIATOR_ERROR);
      }
    }
    int missing;
    int ungranted;
    int invalidTarget;
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      missing = RawInitiator.loginStatus(r.login(NODE, "iqn.2026-11.org.iscsicsi:nope", Map.of()));
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      ungranted = RawInitiator.loginStatus(r.login(NODE, HIDDEN, Map.of()));
    }
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      invalidTarget = RawInitiator.loginStatus(r.login(NODE, "not a name\r\n", Map.of()));
    }
    assertThat(missing).isEqualTo(NOT_FOUND);
    assertThat(ungranted).isEqualTo(NOT_FOUND);
    assertThat(invalidTarget).isEqualTo(NOT_FOUND);
  }

  @Test
  void failedImpersonationLeavesTheRealSessionRunning() throws Exception {
    start(c -> c);
    try (RawInitiator real = new RawInitiator(server.boundPort())) {
      assertThat(RawInitiator.loginStatus(real.chapLogin(NODE, A, "user-a", SECRET_A, "7,5")))
          .isZero();
      for (String attempt : new String[] {"wrong-secret-0123", ""}) {
        try (RawInitiator impostor = new RawInitiator("127.0.0.3", server.boundPort())) {
          // same InitiatorName and ISID: a successful login would reinstate (end) the session
          var r = attempt.isEmpty() ? impostor.login(NODE, A, Map.of())
              : impostor.chapLogin(NODE, A, "user-a", attempt, "7,5");
          assertThat(RawInitiator.loginStatus(r)).isEqualTo(AUTH_FAILURE);
        }
      }
      byte[] block = new byte[512];
      block[0] = 42;
      assertThat(real.writeBlock(3, block)).as(java.util.HexFormat.of().formatHex(real.lastSense))
          .isZero();
      assertThat(real.readBlocks(3, 1)).isEqualTo(block);
      assertThat(server.sessionRegistry().sessions()).hasSize(1);
    }
  }

  @Test
  void loginTextOverTheCeilingIsRefused() throws Exception {
    start(c -> c);
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      String chunk = "X-Filler=" + "y".repeat(8000) + "\0";
      var first = r.loginPdu(0, 1, false, true, "InitiatorName=" + NODE + "\0" + chunk, 0);
      assertThat(RawInitiator.loginStatus(first)).isZero();
      int status = 0;
      for (int i = 0; i < LoginStateMachine.MAX_TEXT / chunk.length() + 2 && status == 0; i++) {
        status = RawInitiator.loginStatus(r.loginPdu(0, 1, false, true, chunk, 0));
      }
      assertThat(status).isEqualTo(INITIATOR_ERROR);
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  @Test
  void aTricklingLoginIsCutAtTheLoginTimeout() throws Exception {
    start(c -> c);
    long start = System.nanoTime();
    try (RawInitiator bytes = new RawInitiator(server.boundPort());
        RawInitiator pdus = new RawInitiator(server.boundPort())) {
      byte[] header = new byte[48];
      header[0] = 0x43;
      boolean bytesOpen = true;
      boolean pdusOpen = true;
      for (int i = 0; i < 48 && (bytesOpen || pdusOpen)
          && System.nanoTime() - start < Duration.ofSeconds(8).toNanos(); i++) {
        try {
          bytes.sendRaw(new byte[] {header[i]});
        } catch (java.io.IOException e) {
          bytesOpen = false;
        }
        try {
          pdus.loginPdu(0, 1, false, true, i == 0 ? "InitiatorName=" + NODE + "\0" : "X", 0);
        } catch (java.io.IOException e) {
          pdusOpen = false;
        }
        Thread.sleep(500);
      }
      long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
      assertThat(bytes.closedByTarget()).as("byte trickle closed").isTrue();
      assertThat(pdus.closedByTarget()).as("C-bit trickle closed").isTrue();
      assertThat(took).as("cut near the 3 s login timeout").isBetween(2_500L, 6_000L);
    }
  }

  @Test
  void connectionsPerSourceAreBounded() throws Exception {
    start(c -> c.withAdmission(AdmissionLimits.defaults().withConnectionsPerSource(4)));
    java.util.List<RawInitiator> open = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        open.add(new RawInitiator("127.0.0.4", server.boundPort()));
      }
      try (RawInitiator fifth = new RawInitiator("127.0.0.4", server.boundPort())) {
        assertThat(fifth.closedByTarget()).isTrue();
      }
      try (RawInitiator other = new RawInitiator("127.0.0.5", server.boundPort())) {
        assertThat(RawInitiator.loginStatus(other.chapLogin(NODE, A, "user-a", SECRET_A, "7")))
            .isZero();
      }
    } finally {
      for (RawInitiator r : open) {
        r.close();
      }
    }
  }

  @Test
  void repeatedChapFailuresBackOffThatAddressOnly() throws Exception {
    start(c -> c);
    int failures = AdmissionLimits.defaults().failuresBeforeBackoff();
    for (int i = 0; i < failures; i++) {
      try (RawInitiator r = new RawInitiator("127.0.0.6", server.boundPort())) {
        assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, A, "user-a", "bad-secret-xyz1",
            "7"))).isEqualTo(AUTH_FAILURE);
      }
    }
    try (RawInitiator r = new RawInitiator("127.0.0.6", server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, A, "user-a", SECRET_A, "7")))
          .as("even the right secret waits out the backoff").isEqualTo(SERVICE_UNAVAILABLE);
    }
    try (RawInitiator r = new RawInitiator("127.0.0.7", server.boundPort())) {
      assertThat(RawInitiator.loginStatus(r.chapLogin(NODE, A, "user-a", SECRET_A, "7")))
          .isZero();
    }
  }
}
