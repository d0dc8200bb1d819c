package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.server.RawInitiator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Login attacks from the attacker's side against the packaged engine ({@link AttackHarness}).
 * Each pins: the attack fails, a legitimate login with I/O during it completes within 2 s, and
 * the engine's heap after GC and RSS stay within {@link #HEAP_BOUND_MIB} / {@link
 * #RSS_BOUND_MIB} (the engine runs with {@link AttackHarness#ENGINE_HEAP}).
 */
class LoginAttacksIT {

  static final long HEAP_BOUND_MIB = 96;
  static final long RSS_BOUND_MIB = 512;
  static final int AUTH_FAILURE = 0x0201;

  @TempDir
  Path dir;

  static void withinBounds(AttackHarness h, String attack, long refused, Duration legitimate)
      throws Exception {
    AttackHarness.MemoryFigures m = h.memory();
    AttackHarness.report(attack, refused, legitimate, m, HEAP_BOUND_MIB);
    assertThat(m.heapMiB()).as("heap after GC").isLessThanOrEqualTo(HEAP_BOUND_MIB);
    assertThat(m.rssMiB()).as("RSS").isLessThanOrEqualTo(RSS_BOUND_MIB);
    assertThat(h.engineAlive()).isTrue();
  }

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
      withinBounds(h, "impersonation", refused, h.legitimateLoginAndIo());
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
      withinBounds(h, "brute-force", authFailures + backedOff, legitimate);
    }
  }

  /** 3 000 discovery sessions held open (discovery auth off, the worst case) over 100 sources. */
  @Test
  void discoverySessionsHeldOpen() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir, "--discovery-auth", "off")) {
      List<RawInitiator> held = new ArrayList<>();
      int refused = 0;
      Duration legitimate = Duration.ZERO;
      try {
        for (int i = 0; i < 3000; i++) {
          RawInitiator r = new RawInitiator("127.0.1." + (1 + i % 100), h.port());
          held.add(r);
          try {
            if (RawInitiator.loginStatus(r.login("iqn.2026-11.org.example:flood" + i, null,
                Map.of())) != 0) {
              refused++;
            }
          } catch (IOException e) {
            refused++; // closed on accept: too many connections from that address
          }
          if (i == 2000) {
            legitimate = h.legitimateLoginAndIo();
          }
        }
        assertThat(refused).as("discovery logins over the bounds").isGreaterThanOrEqualTo(2700);
        withinBounds(h, "discovery-flood", refused, legitimate);
      } finally {
        for (RawInitiator r : held) {
          r.close();
        }
      }
    }
  }

  /** 500 slow-loris logins trickling bytes: all cut at the login timeout. */
  @Test
  void slowLorisLogins() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir, "--login-timeout", "4")) {
      List<RawInitiator> loris = new ArrayList<>();
      long start = System.nanoTime();
      try {
        for (int i = 0; i < 500; i++) {
          RawInitiator r = new RawInitiator("127.0.2." + (1 + i % 10), h.port());
          loris.add(r);
          r.sendRaw(new byte[] {0x43});
        }
        Duration legitimate = h.legitimateLoginAndIo();
        for (int round = 0; round < 6; round++) {
          Thread.sleep(1000);
          for (RawInitiator r : loris) {
            try {
              r.sendRaw(new byte[] {0});
            } catch (IOException e) {
              // cut already
            }
          }
        }
        int cut = 0;
        for (RawInitiator r : loris) {
          r.timeout(100);
          if (r.closedByTarget()) {
            cut++;
          }
        }
        assertThat(cut).as("slow-loris connections cut").isEqualTo(500);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(60));
        withinBounds(h, "slow-loris", cut, legitimate);
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
      withinBounds(h, "invalid-names", refused, legitimate);
    }
  }
}
