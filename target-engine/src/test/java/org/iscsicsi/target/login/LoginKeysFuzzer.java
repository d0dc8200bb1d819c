package org.iscsicsi.target.login;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.fuzz.FuzzStatistics;
import org.iscsicsi.target.login.LoginFixtures.Target;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.TargetPdu.LoginResponse;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzzing of the login text: {@link TextKeys#parse} on any bytes, and a {@link
 * LoginStateMachine} (with {@link KeyNegotiator} behind it) fed up to six Login Requests whose
 * stages, T/C bits, ISID, TSIH and key text the fuzzer chooses, against an open and a CHAP target.
 * The parser either parses or throws {@link LoginException}; the machine never throws; a failed
 * login answers with status class 2 or 3 and no T bit; a completed login to the CHAP target
 * always went through CHAP. Regression inputs:
 * {@code src/test/resources/org/iscsicsi/target/login/LoginKeysFuzzerInputs/login/}.
 */
class LoginKeysFuzzer {

  private static final int MAX_TEXT = 2048;
  private static final int MAX_STEPS = 6;
  private static final FuzzStatistics STATS = new FuzzStatistics("LoginKeys");
  private static final Target OPEN = new Target("iqn.2026-11.org.iscsicsi:open", "", 1,
      Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(), Optional.empty(), Map.of());
  private static final Target CHAP = new Target("iqn.2026-11.org.iscsicsi:chap", "", 1,
      Map.of("ALL", AccessLevel.READ_WRITE),
      Optional.of(new ChapSecret("alice", "alice-secret-12".getBytes(StandardCharsets.UTF_8))),
      Optional.empty(), Map.of());
  private static final SecureRandom RANDOM = new SecureRandom();

  @FuzzTest(maxDuration = "45s")
  void login(FuzzedDataProvider data) {
    LoginStateMachine m = new LoginStateMachine(LoginFixtures.directory(OPEN, CHAP), Map.of(),
        RANDOM);
    int steps = 0;
    while (steps < MAX_STEPS && m.state() == LoginStateMachine.State.IN_PROGRESS
        && data.remainingBytes() > 0) {
      StringBuilder text = new StringBuilder();
      if (steps == 0 && data.consumeBoolean()) {
        // a well-formed start lets the fuzzer reach the negotiation behind it
        text.append("InitiatorName=iqn.2026-11.org.example:host1\0TargetName=")
            .append(data.consumeBoolean() ? OPEN.name() : CHAP.name()).append('\0');
      }
      boolean transit = data.consumeBoolean();
      boolean cont = data.consumeBoolean();
      int csg = data.consumeInt(0, 3);
      int nsg = data.consumeInt(0, 3);
      int tsih = data.consumeBoolean() ? 0 : data.consumeInt(0, 0xffff);
      long isid = data.consumeBoolean() ? LoginFixtures.ISID : data.consumeLong() & 0xffffffffffffL;
      byte[] keys = data.consumeBytes(data.consumeInt(0, MAX_TEXT));
      parseAlone(keys);
      byte[] start = text.toString().getBytes(StandardCharsets.UTF_8);
      int versionMin = data.consumeBoolean() ? 0 : data.consumeInt(1, 0xff);
      LoginRequest req = new LoginRequest(transit, cont, csg, nsg, 0, versionMin, isid, tsih, 1,
          0, 1, 0, Unpooled.wrappedBuffer(start, keys));
      LoginResponse r;
      try {
        r = m.process(req);
      } finally {
        req.release();
      }
      try {
        assertThat(r).isNotNull();
        if (m.state() == LoginStateMachine.State.FAILED) {
          assertThat(r.statusClass()).isIn(2, 3);
          assertThat(r.transit()).isFalse();
        } else {
          assertThat(r.statusClass()).isZero();
        }
        if (m.state() == LoginStateMachine.State.COMPLETE && m.result().target() == CHAP) {
          assertThat(m.result().authMethod()).isEqualTo("CHAP");
        }
        STATS.outcome(m.state() + ":" + r.statusClass() + "/" + r.statusDetail());
      } finally {
        r.release();
      }
      steps++;
    }
    STATS.executed(steps);
  }

  private static void parseAlone(byte[] keys) {
    try {
      TextKeys.parse(keys);
      STATS.outcome("parsed");
    } catch (LoginException e) {
      STATS.outcome("refused");
    }
  }

  @AfterAll
  static void report() {
    STATS.print();
  }
}
