package org.iscsicsi.target.login;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.login.LoginFixtures.Target;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.TargetPdu.LoginResponse;
import org.junit.jupiter.api.Test;

/**
 * A bounded, seeded fuzz of {@link LoginStateMachine}: random sequences of login PDUs with random
 * stages, T/C bits, ISIDs, and key sets drawn from real keys, junk keys and junk values. The
 * machine never throws; every response is well formed; a failed login has a non-zero status class
 * and no T bit; a completed login always passed authentication on the CHAP target.
 */
class LoginStateMachineFuzzTest {

  static final String[] KEYS = {"InitiatorName", "TargetName", "SessionType", "AuthMethod",
      "CHAP_A", "CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C", "HeaderDigest", "DataDigest",
      "MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength", "InitialR2T",
      "ImmediateData", "ErrorRecoveryLevel", "X-junk", "", "=", "MaxConnections"};
  static final String[] VALUES = {"iqn.2026-11.org.example:host1",
      "iqn.2026-11.org.iscsicsi:open", "iqn.2026-11.org.iscsicsi:chap", "Normal", "Discovery",
      "None", "CHAP", "CHAP,None", "5", "7,5", "alice", "0x00", "0xzz", "0b====", "CRC32C", "Yes",
      "No", "0", "-1", "99999999999999999999", "Reject", "", "\u00e9\u00e9"};

  @Test
  void loginStateMachineNeverThrows() {
    Target open = new Target("iqn.2026-11.org.iscsicsi:open", "", 1,
        Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(), Optional.empty(), Map.of());
    Target chap = new Target("iqn.2026-11.org.iscsicsi:chap", "", 1,
        Map.of("ALL", AccessLevel.READ_WRITE),
        Optional.of(new ChapSecret("alice", "alice-secret-12".getBytes(StandardCharsets.UTF_8))),
        Optional.empty(), Map.of());
    Random random = new Random(7143L);
    SecureRandom secure = new SecureRandom();
    int completed = 0;
    int failed = 0;
    for (int iteration = 0; iteration < 3000; iteration++) {
      LoginStateMachine m = new LoginStateMachine(LoginFixtures.directory(open, chap), Map.of(),
          secure);
      for (int step = 0; step < 6 && m.state() == LoginStateMachine.State.IN_PROGRESS; step++) {
        StringBuilder text = new StringBuilder();
        if (step == 0 && random.nextInt(4) > 0) {
          text.append("InitiatorName=iqn.2026-11.org.example:host1\0");
          text.append("TargetName=").append(random.nextBoolean() ? open.name() : chap.name())
              .append('\0');
        }
        int n = random.nextInt(5);
        for (int i = 0; i < n; i++) {
          text.append(KEYS[random.nextInt(KEYS.length)]).append('=')
              .append(VALUES[random.nextInt(VALUES.length)]).append('\0');
        }
        if (random.nextInt(10) == 0) {
          text.append("garbage-without-equals");
        }
        int csg = random.nextInt(4);
        LoginRequest req = new LoginRequest(random.nextBoolean(), random.nextInt(8) == 0, csg,
            random.nextInt(4), 0, random.nextInt(10) == 0 ? 1 : 0,
            random.nextInt(20) == 0 ? 1 : 0x23d000000001L, random.nextInt(20) == 0 ? 9 : 0, 1, 0,
            1, 0, Unpooled.copiedBuffer(text.toString(), StandardCharsets.UTF_8));
        LoginResponse r = m.process(req);
        req.release();
        assertThat(r).isNotNull();
        if (m.state() == LoginStateMachine.State.FAILED) {
          assertThat(r.statusClass()).isIn(2, 3);
          assertThat(r.transit()).isFalse();
          failed++;
        } else {
          assertThat(r.statusClass()).isZero();
        }
        if (m.state() == LoginStateMachine.State.COMPLETE) {
          completed++;
          if (m.result().target() == chap) {
            assertThat(m.result().authMethod()).isEqualTo("CHAP");
          }
        }
        r.release();
      }
    }
    assertThat(failed).isPositive();
    assertThat(completed).isPositive();
  }
}
