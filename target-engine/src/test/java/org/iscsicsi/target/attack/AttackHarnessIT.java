package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.target.server.RawInitiator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attack harness itself: the packaged engine starts, the legitimate initiator logs in with
 * CHAP from another source address and its writes read back, a login without the secret is
 * refused, and the memory figures are plausible (non-zero heap, RSS above heap).
 */
class AttackHarnessIT {

  @TempDir
  Path dir;

  @Test
  void legitimateInitiatorWorksAndFiguresAreMeasured() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir)) {
      Duration took = h.legitimateLoginAndIo();
      try (RawInitiator anonymous = new RawInitiator(h.port())) {
        RawInitiator.Pdu r = anonymous.login(AttackHarness.LEGITIMATE, AttackHarness.TARGET,
            java.util.Map.of());
        assertThat(RawInitiator.loginStatus(r)).as("login without CHAP").isEqualTo(0x0201);
      }
      AttackHarness.MemoryFigures m = h.memory();
      assertThat(m.heapBytes()).isPositive();
      assertThat(m.rssBytes()).isGreaterThan(m.heapBytes());
      h.assertBoundedAndReport("none (harness self-test)", 1, took);
    }
  }
}
