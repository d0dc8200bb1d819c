package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.iscsicsi.target.server.AdmissionLimits;
import org.iscsicsi.target.server.RawInitiator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Login attacks from the attacker's side against the packaged engine ({@link AttackHarness}).
 * Each pins: the attack fails, a legitimate login with I/O during it completes within 2 s, and
 * the engine's heap after GC and RSS stay within {@link AttackHarness#HEAP_BOUND_MIB} / {@link
 * AttackHarness#RSS_BOUND_MIB} (the engine runs with {@link AttackHarness#ENGINE_HEAP}).
 */
class LoginAttacksIT {

  static final int AUTH_FAILURE = 0x0201;
  static final int ATTACK_THREADS = 32;
  static final Duration SLOW_LORIS_TIMEOUT = Duration.ofSeconds(4);

  @TempDir
  Path dir;

  /** Impersonation without the secret: refused, the real session stays up and does I/O. */
  @Test
  void impersonationOfAGrantedNode() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir);
        RawInitiator real = h.legitimateSession("127.0.0.9")) {
      AttackHarness.io(real);
      int refused = 0;
      for (int i = 0; i < 20; i++) {
        try (RawInitiator attacker = new RawInitiator(h.port())) {
          var r = i % 2 == 0 ? attacker.login(AttackHarness.LEGITIMATE, AttackHarness.TARGET,
              Map.of()) : attacker.chapLogin(AttackHarness.LEGITIMATE, AttackHarness.TARGET,
              AttackHarness.CHAP_USER, "guessed-secret-" + i, "7,5");
          if (RawInitiator.loginStatus(r) != 0) {
            refused++;
          }
        }
      }
      assertThat(refused).isEqualTo(20);
      AttackHarness.io(real); // same name and ISID: a successful impersonation would end it
      h.assertBoundedAndReport("impersonation", refused, h.legitimateLoginAndIo());
    }
  }

  /** 200 wrong secrets: all refused, backoff engages, another address still logs in. */
  @Test
  void wrongSecretBruteForce() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir)) {
      int authFailures = 0;
      int backedOff = 0;
      Duration legitimate = Duration.ZERO;
      for (int i = 0; i < 200; i++) {
        try (RawInitiator attacker = new RawInitiator(h.port())) {
          int status = RawInitiator.loginStatus(attacker.chapLogin(AttackHarness.LEGITIMATE,
              AttackHarness.TARGET, AttackHarness.CHAP_USER, "brute-force-" + i, "7,5"));
          assertThat(status).as("attempt %d", i).isNotZero();
          if (status == AUTH_FAILURE) {
            authFailures++;
          } else {
            backedOff++;
          }
        }
        if (i == 100) {
          legitimate = h.legitimateLoginAndIo();
        }
      }
      assertThat(backedOff).as("attempts refused by the backoff").isGreaterThan(150);
      h.assertBoundedAndReport("brute-force", authFailures + backedOff, legitimate);
    }
  }

  /** 3 000 discovery sessions held open (discovery auth off, the worst case) over 100 sources. */
  @Test
  void discoverySessionsHeldOpen() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir, "--discovery-auth", "off")) {
      List<RawInitiator> held = Collections.synchronizedList(new ArrayList<>());
      AtomicInteger refused = new AtomicInteger();
      Duration legitimate;
      try {
        try (ExecutorService attackers = Executors.newFixedThreadPool(ATTACK_THREADS)) {
          for (int i = 0; i < 3000; i++) {
            int n = i;
            attackers.submit(() -> {
              RawInitiator r = new RawInitiator("127.0.1." + (1 + n % 100), h.port());
              held.add(r);
              try {
                if (RawInitiator.loginStatus(r.login("iqn.2026-11.org.example:flood" + n, null,
                    Map.of())) != 0) {
                  refused.incrementAndGet();
                }
              } catch (IOException e) {
                refused.incrementAndGet(); // closed on accept: too many from that address
              }
              return null;
            });
          }
          long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          while (held.size() < 1500 && System.nanoTime() < deadline) {
            Thread.sleep(10);
          }
          legitimate = h.legitimateLoginAndIo(); // in the middle of the flood
        }
        assertThat(held).hasSize(3000);
        assertThat(refused.get()).as("discovery logins over the bounds")
            .isEqualTo(3000 - AdmissionLimits.DEFAULT_DISCOVERY_SESSIONS);
        // the discovery sessions admitted still hold their TSIHs: a normal login gets one too
        assertThat(h.legitimateLoginAndIo()).isLessThanOrEqualTo(AttackHarness.LEGITIMATE_BOUND);
        h.assertBoundedAndReport("discovery-flood", refused.get(), legitimate);
      } finally {
        for (RawInitiator r : held) {
          r.close();
        }
      }
    }
  }

  /** 500 slow-loris logins trickling bytes or C-bit PDUs: all cut at the login timeout. */
  @Test
  void slowLorisLogins() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir, "--login-timeout",
        Long.toString(SLOW_LORIS_TIMEOUT.toSeconds()))) {
      List<RawInitiator> loris = Collections.synchronizedList(new ArrayList<>());
      try {
        try (ExecutorService attackers = Executors.newFixedThreadPool(ATTACK_THREADS)) {
          for (int i = 0; i < 500; i++) {
            int n = i;
            attackers.submit(() -> {
              RawInitiator r = new RawInitiator("127.0.2." + (1 + n % 10), h.port());
              loris.add(r);
              if (n % 2 == 0) {
                r.sendRaw(new byte[] {0x43}); // the first byte of a Login Request
              } else {
                r.loginPdu(0, 1, false, true, "InitiatorName=iqn.2026-11.org.example:loris"
                    + n + "\0", 0); // C bit: more text follows
              }
              return null;
            });
          }
        }
        long start = System.nanoTime();
        Duration legitimate = h.legitimateLoginAndIo();
        long deadline = start + SLOW_LORIS_TIMEOUT.plusSeconds(3).toNanos();
        int round = 0;
        while (System.nanoTime() < deadline) {
          Thread.sleep(1000);
          round++;
          for (int i = 0; i < loris.size(); i++) {
            RawInitiator r = loris.get(i);
            try {
              if (i % 2 == 0) {
                r.sendRaw(new byte[] {0});
              } else {
                r.sendRaw(r.loginBhs(0, 1, false, true, 0, 0)); // an empty continuation
              }
            } catch (IOException e) {
              // cut already
            }
          }
        }
        int cut = 0;
        for (RawInitiator r : loris) {
          r.timeout(200);
          if (r.closedByTarget()) {
            cut++;
          }
        }
        assertThat(round).as("trickled for longer than the login timeout")
            .isGreaterThan((int) SLOW_LORIS_TIMEOUT.toSeconds());
        assertThat(cut).as("slow-loris connections cut").isEqualTo(500);
        h.assertBoundedAndReport("slow-loris", cut, legitimate);
      } finally {
        for (RawInitiator r : loris) {
          r.close();
        }
      }
    }
  }

  /** Invalid and control-character initiator names: refused, and no raw control char logged. */
  @Test
  void invalidAndControlCharacterNames() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir)) {
      String[] names = {"iqn.2026-11.org.example:x\nINJECTED-LOG-LINE", "not-an-iqn",
          "iqn.2026-11.org.example:\u001b[2J", "iqn.2026-11.org.example:" + "z".repeat(400),
          "eui.123", "iqn.2026-11.org.example:tab\there"};
      int refused = 0;
      for (String name : names) {
        try (RawInitiator attacker = new RawInitiator(h.port())) {
          if (RawInitiator.loginStatus(attacker.login(name, AttackHarness.TARGET, Map.of()))
              == 0x0200) {
            refused++;
          }
        }
      }
      assertThat(refused).isEqualTo(names.length);
      Duration legitimate = h.legitimateLoginAndIo();
      String log = h.log();
      assertThat(log).doesNotContain("\nINJECTED-LOG-LINE").doesNotContain("\u001b[2J")
          .doesNotContain(AttackHarness.CHAP_SECRET);
      h.assertBoundedAndReport("invalid-names", refused, legitimate);
    }
  }
}
