package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.session.SessionInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The full feature phase over TCP against a real {@link IscsiServer} and the real SCSI layer,
 * byte by byte: R2T/Data-Out with MaxBurstLength and DataSN per sequence, unsolicited data up to
 * FirstBurstLength, Data-In split by the initiator's MaxRecvDataSegmentLength with F at burst
 * ends and phase-collapsed status, residual underflow/overflow, CHECK CONDITION sense with its
 * length prefix, task management response codes and dropped aborted tasks, target NOP-In pings
 * and their timeout, SendTargets split over several Text PDUs, logout, session reinstatement and
 * closing sessions through the registry, with per-session counters.
 */
class FullFeaturePhaseTest {

  static final String TARGET = "iqn.2026-11.org.iscsicsi:ffp";
  static final String OTHER = "iqn.2026-11.org.iscsicsi:ffp-other-target-with-a-long-name";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.test:ffp";

  @TempDir
  static Path dir;
  static TestTargets targets;
  static IscsiServer server;

  @BeforeAll
  static void start() throws Exception {
    targets = new TestTargets();
    targets.add(TARGET, Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(),
        Optional.empty(), Map.of(), dir, 4 << 20);
    for (int i = 0; i < 12; i++) {
      targets.add(OTHER + i, Map.of("ALL", AccessLevel.READ_ONLY), Optional.empty(),
          Optional.empty(), Map.of(), dir, 1 << 20);
    }
    server = new IscsiServer(IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
        .withAdvertisedPortals(List.of("192.0.2.10:3260", "[2001:db8::1]:3260"))
        .withTimeouts(Duration.ofSeconds(5), Duration.ZERO), targets);
    server.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (targets != null) {
      targets.close();
    }
  }

  static byte[] rw10(int opcode, int lba, int blocks) {
    return RawInitiator.rw10(opcode, lba, blocks);
  }

  static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  RawInitiator login(Map<String, String> keys) throws Exception {
    RawInitiator r = new RawInitiator(server.boundPort());
    assertThat(r.login(INITIATOR, TARGET, keys).byteAt(36)).isZero();
    // the first command of a new nexus reports POWER ON OCCURRED; consume it
    r.command(0x80, 0, new byte[16], new byte[0]);
    assertThat(r.read().opcode()).isEqualTo(0x21);
    return r;
  }

  @Test
  void solicitedWriteThenReadBackSplitIntoDataIn() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No",
        "MaxBurstLength", "4096", "MaxRecvDataSegmentLength", "1024",
        "MaxOutstandingR2T", "1"))) {
      byte[] data = pattern(8192, 1);
      int tag = r.command(0xa0, 8192, rw10(0x2a, 100, 16), new byte[0]);
      for (int burst = 0; burst < 2; burst++) {
        RawInitiator.Pdu r2t = r.read();
        assertThat(r2t.opcode()).isEqualTo(0x31);
        assertThat(r2t.intAt(16)).isEqualTo(tag);
        assertThat(r2t.intAt(36)).as("R2TSN").isEqualTo(burst);
        assertThat(r2t.intAt(40)).as("offset").isEqualTo(burst * 4096);
        assertThat(r2t.intAt(44)).as("desired length").isEqualTo(4096);
        int ttt = r2t.intAt(20);
        r.dataOut(tag, ttt, 0, burst * 4096, Arrays.copyOfRange(data, burst * 4096,
            burst * 4096 + 2048), false);
        r.dataOut(tag, ttt, 1, burst * 4096 + 2048, Arrays.copyOfRange(data,
            burst * 4096 + 2048, burst * 4096 + 4096), true);
      }
      RawInitiator.Pdu status = r.read();
      assertThat(status.opcode()).isEqualTo(0x21);
      assertThat(status.byteAt(3)).isZero();

      int read = r.command(0xc0, 8192, rw10(0x28, 100, 16), new byte[0]);
      byte[] got = new byte[8192];
      for (int i = 0; i < 8; i++) {
        RawInitiator.Pdu in = r.read();
        assertThat(in.opcode()).isEqualTo(0x25);
        assertThat(in.intAt(16)).isEqualTo(read);
        assertThat(in.data()).hasSize(1024);
        assertThat(in.intAt(36)).as("DataSN").isEqualTo(i);
        assertThat(in.intAt(40)).as("offset").isEqualTo(i * 1024);
        boolean endOfBurst = (i + 1) % 4 == 0;
        assertThat((in.byteAt(1) & 0x80) != 0).as("F bit at burst end").isEqualTo(endOfBurst);
        assertThat((in.byteAt(1) & 0x01) != 0).as("S bit on the last").isEqualTo(i == 7);
        System.arraycopy(in.data(), 0, got, i * 1024, 1024);
      }
      assertThat(got).isEqualTo(data);
    }
  }

  @Test
  void immediateAndUnsolicitedDataUpToFirstBurstLength() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "No", "ImmediateData", "Yes",
        "FirstBurstLength", "2048", "MaxBurstLength", "8192"))) {
      byte[] data = pattern(8192, 2);
      int tag = r.command(0x20, 8192, rw10(0x2a, 200, 16), Arrays.copyOf(data, 512));
      r.dataOut(tag, -1, 0, 512, Arrays.copyOfRange(data, 512, 2048), true);
      RawInitiator.Pdu r2t = r.read();
      assertThat(r2t.opcode()).isEqualTo(0x31);
      assertThat(r2t.intAt(40)).isEqualTo(2048);
      assertThat(r2t.intAt(44)).isEqualTo(6144);
      r.dataOut(tag, r2t.intAt(20), 0, 2048, Arrays.copyOfRange(data, 2048, 8192), true);
      assertThat(r.read().byteAt(3)).isZero();
      r.command(0xc0, 8192, rw10(0x28, 200, 16), new byte[0]);
      RawInitiator.Pdu in = r.read();
      assertThat(in.data()).isEqualTo(data);
      assertThat(in.byteAt(1) & 0x81).isEqualTo(0x81);
    }
  }

  @Test
  void residualsAndSenseData() throws Exception {
    try (RawInitiator r = login(Map.of())) {
      r.command(0xc0, 1024, rw10(0x28, 0, 1), new byte[0]);
      RawInitiator.Pdu under = r.read();
      assertThat(under.data()).hasSize(512);
      assertThat(under.byteAt(1)).as("F U S").isEqualTo(0x83);
      assertThat(under.intAt(44)).isEqualTo(512);

      r.command(0xc0, 256, rw10(0x28, 0, 1), new byte[0]);
      RawInitiator.Pdu over = r.read();
      assertThat(over.data()).hasSize(256);
      assertThat(over.byteAt(1)).as("F O S").isEqualTo(0x85);
      assertThat(over.intAt(44)).isEqualTo(256);

      r.command(0xc0, 512, rw10(0x28, 1 << 30, 1), new byte[0]);
      RawInitiator.Pdu check = r.read();
      assertThat(check.opcode()).isEqualTo(0x21);
      assertThat(check.byteAt(3)).isEqualTo(0x02);
      int senseLength = ((check.data()[0] & 0xff) << 8) | (check.data()[1] & 0xff);
      assertThat(check.data()).hasSize(2 + senseLength);
      assertThat(check.data()[2 + 2] & 0x0f).as("ILLEGAL REQUEST").isEqualTo(0x05);
      assertThat(check.data()[2 + 12] & 0xff).as("LBA OUT OF RANGE").isEqualTo(0x21);
    }
  }

  @Test
  void taskManagementCodesAndAbortedTasksStaySilent() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      int pending = r.command(0xa0, 4096, rw10(0x2a, 300, 8), new byte[0]);
      RawInitiator.Pdu r2t = r.read();
      assertThat(r2t.opcode()).isEqualTo(0x31);
      int abort = r.taskManagement(1, 0, pending, r.cmdSn - 1);
      RawInitiator.Pdu done = r.read();
      assertThat(done.opcode()).isEqualTo(0x22);
      assertThat(done.intAt(16)).isEqualTo(abort);
      assertThat(done.byteAt(2)).as("function complete").isZero();
      r.dataOut(pending, r2t.intAt(20), 0, 0, pattern(4096, 3), true);
      assertThat(r.silentFor(300)).as("no response for the aborted task").isTrue();

      r.taskManagement(1, 0, 0x7777, r.cmdSn - 1);
      assertThat(r.read().byteAt(2)).as("completed task does not exist").isEqualTo(1);
      r.taskManagement(1, 0, 0x7778, r.cmdSn + 5);
      assertThat(r.read().byteAt(2)).as("never received, inside the window").isZero();
      r.taskManagement(5, 0, -1, r.cmdSn);
      assertThat(r.read().byteAt(2)).as("LUN reset").isZero();
      r.taskManagement(6, 0, -1, r.cmdSn);
      assertThat(r.read().byteAt(2)).as("target warm reset").isZero();
      r.taskManagement(8, 0, -1, r.cmdSn);
      assertThat(r.read().byteAt(2)).as("task reassign").isEqualTo(4);
      r.taskManagement(0x55, 0, -1, r.cmdSn);
      assertThat(r.read().byteAt(2)).as("unknown function").isEqualTo(255);
      int tag = r.ping();
      assertThat(r.read().intAt(16)).isEqualTo(tag);
    }
  }

  @Test
  void sendTargetsSplitsLongAnswersAndFiltersByAccess() throws Exception {
    try (RawInitiator r = login(Map.of("MaxRecvDataSegmentLength", "512"))) {
      StringBuilder all = new StringBuilder();
      int tag = r.text("SendTargets=All\0", 0x100, -1);
      for (int i = 0; i < 50; i++) {
        RawInitiator.Pdu t = r.read();
        assertThat(t.opcode()).isEqualTo(0x24);
        assertThat(t.data().length).isLessThanOrEqualTo(512);
        all.append(new String(t.data(), StandardCharsets.UTF_8));
        if ((t.byteAt(1) & 0x80) != 0) {
          break;
        }
        assertThat(t.byteAt(1) & 0x40).as("C bit").isEqualTo(0x40);
        r.text("", tag, t.intAt(20));
      }
      List<String> pairs = List.of(all.toString().split("\0"));
      assertThat(pairs).contains("TargetName=" + TARGET, "TargetAddress=192.0.2.10:3260,1",
          "TargetAddress=[2001:db8::1]:3260,1", "TargetName=" + OTHER + "11");
      assertThat(pairs.stream().filter(p -> p.startsWith("TargetName="))).hasSize(13);

      r.text("X-com.example.unknown=1\0MaxBurstLength=4096\0", 0x101, -1);
      String answer = new String(r.read().data(), StandardCharsets.UTF_8);
      assertThat(answer).contains("X-com.example.unknown=NotUnderstood",
          "MaxBurstLength=Reject");
    }
  }

  @Test
  void logoutEndsTheSession() throws Exception {
    try (RawInitiator r = login(Map.of())) {
      int tag = r.logout(0);
      RawInitiator.Pdu resp = r.read();
      assertThat(resp.opcode()).isEqualTo(0x26);
      assertThat(resp.intAt(16)).isEqualTo(tag);
      assertThat(resp.byteAt(2)).isZero();
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  @Test
  void reinstatementAndRegistryClose() throws Exception {
    RawInitiator first = login(Map.of());
    RawInitiator second = login(Map.of()); // same initiator name and ISID
    assertThat(first.closedByTarget()).as("old session ended").isTrue();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.sessionRegistry()
        .sessions().stream().filter(s -> s.initiatorName().equals(INITIATOR)).count() == 1);
    SessionInfo info = server.sessionRegistry().sessions().stream()
        .filter(s -> s.initiatorName().equals(INITIATOR)).findFirst().orElseThrow();
    assertThat(info.targetName()).isEqualTo(TARGET);
    assertThat(info.isid()).isEqualTo(0x23d000000001L);
    assertThat(info.counters().scsicmdPdus()).isEqualTo(1);
    assertThat(server.sessionRegistry().close(TARGET, INITIATOR)).isEqualTo(1);
    assertThat(second.closedByTarget()).isTrue();
    first.close();
    second.close();
  }

  @Test
  void loginWithALiveTsihReplacesThatConnectionAndKeepsTheTsih() throws Exception {
    try (RawInitiator first = new RawInitiator(server.boundPort());
        RawInitiator second = new RawInitiator(server.boundPort());
        RawInitiator stale = new RawInitiator(server.boundPort())) {
      RawInitiator.Pdu ok = first.login(INITIATOR + "-reconnect", TARGET, Map.of());
      int tsih = Short.toUnsignedInt(java.nio.ByteBuffer.wrap(ok.bhs()).getShort(14));
      assertThat(tsih).isNotZero();
      RawInitiator.Pdu again = second.login(INITIATOR + "-reconnect", TARGET, Map.of(), tsih);
      assertThat(again.byteAt(36)).isZero();
      assertThat(Short.toUnsignedInt(java.nio.ByteBuffer.wrap(again.bhs()).getShort(14)))
          .isEqualTo(tsih);
      assertThat(first.closedByTarget()).isTrue();
      RawInitiator.Pdu unknown = stale.login(INITIATOR + "-reconnect", TARGET, Map.of(),
          tsih + 1000);
      assertThat(unknown.byteAt(36) << 8 | unknown.byteAt(37)).as("session does not exist")
          .isEqualTo(0x020a);
    }
  }

  @Test
  void countersFollowTheTraffic() throws Exception {
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      assertThat(r.login(INITIATOR + "-counted", TARGET, Map.of("InitialR2T", "Yes",
          "ImmediateData", "No")).byteAt(36)).isZero();
      r.command(0x80, 0, new byte[16], new byte[0]);
      r.read();
      int tag = r.command(0xa0, 1024, rw10(0x2a, 400, 2), new byte[0]);
      RawInitiator.Pdu r2t = r.read();
      r.dataOut(tag, r2t.intAt(20), 0, 0, pattern(1024, 4), true);
      r.read();
      r.command(0xc0, 1024, rw10(0x28, 400, 2), new byte[0]);
      r.read();
      SessionInfo.SessionCounters c = server.sessionRegistry().sessions().stream()
          .filter(s -> s.initiatorName().equals(INITIATOR + "-counted")).findFirst()
          .orElseThrow().counters();
      assertThat(c.scsicmdPdus()).isEqualTo(3);
      assertThat(c.r2tPdus()).isEqualTo(1);
      assertThat(c.dataoutPdus()).isEqualTo(1);
      assertThat(c.rxdataOctets()).isEqualTo(1024);
      assertThat(c.txdataOctets()).isEqualTo(1024);
    }
  }

  @Test
  void targetPingsIdleInitiatorsAndDropsSilentOnes() throws Exception {
    try (IscsiServer pinging = new IscsiServer(IscsiServerConfig.defaults()
        .withBind("127.0.0.1", 0).withTimeouts(Duration.ofSeconds(5),
            Duration.ofMillis(300)), targets)) {
      pinging.start();
      try (RawInitiator r = new RawInitiator(pinging.boundPort())) {
        assertThat(r.login(INITIATOR + "-idle", TARGET, Map.of()).byteAt(36)).isZero();
        RawInitiator.Pdu ping = r.read();
        assertThat(ping.opcode()).isEqualTo(0x20);
        assertThat(ping.intAt(16)).as("ITT reserved").isEqualTo(-1);
        assertThat(ping.intAt(20)).as("TTT set").isNotEqualTo(-1);
        r.answerPing(ping.intAt(20));
        RawInitiator.Pdu again = r.read(); // answered: the next idle period pings again
        assertThat(again.opcode()).isEqualTo(0x20);
        long start = System.nanoTime();
        assertThat(r.closedByTarget()).as("unanswered ping closes").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      }
    }
  }

  @Test
  void manyConcurrentSessionsEachGetTheirOwnTsih() throws Exception {
    List<RawInitiator> sessions = new ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        RawInitiator r = new RawInitiator(server.boundPort());
        sessions.add(r);
        assertThat(r.login(INITIATOR + "-many-" + i, i % 2 == 0 ? TARGET : OTHER + (i % 12),
            Map.of()).byteAt(36)).isZero();
      }
      assertThat(server.sessionRegistry().sessions().stream()
          .filter(s -> s.initiatorName().contains("-many-")).map(SessionInfo::tsih)
          .distinct().count()).isEqualTo(20);
      for (RawInitiator r : sessions) {
        int tag = r.ping();
        assertThat(r.read().intAt(16)).isEqualTo(tag);
      }
    } finally {
      for (RawInitiator r : sessions) {
        r.close();
      }
    }
  }
}
