package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.DeleteTargetRequest;
import org.iscsicsi.target.v1.ListTargetsRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety of the engine's state with real processes: {@code bin/target-engine serve} takes a
 * burst of configuration changes from several concurrent callers (targets created, LUNs added,
 * targets deleted) and is SIGKILLed in the middle of it, several times over the same state
 * directory. After every restart each change the engine acknowledged is there (each created
 * target, its LUN with its file open, each deletion), whatever the kill interrupted; changes in
 * flight at the kill may or may not be.
 */
class StateCrashIT {

  static final int CALLERS = 4;
  static final int ROUNDS = 3;
  static final int MIN_ACKS_BEFORE_KILL = 60;

  @TempDir
  Path dir;

  final List<Process> processes = new ArrayList<>();
  final int adminPort = ServeProcess.freePort();

  /** What the engine acknowledged, across all rounds. */
  final Set<String> created = ConcurrentHashMap.newKeySet();
  final Set<String> withLun = ConcurrentHashMap.newKeySet();
  final Set<String> deleted = ConcurrentHashMap.newKeySet();
  /**
   * Deletions sent: one whose acknowledgement the kill cut off may have happened or not, so its
   * target may be there or gone.
   */
  final Set<String> deleteSent = ConcurrentHashMap.newKeySet();

  @AfterEach
  void cleanup() throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  Process serve() throws IOException {
    Process p = ServeProcess.start(List.of("--state-dir", dir.resolve("state").toString(),
        "--portal", "127.0.0.1:0", "--admin", "127.0.0.1:" + adminPort),
        dir.resolve("engine.log"), Map.of());
    processes.add(p);
    return p;
  }

  @Test
  void everyAcknowledgedChangeSurvivesSigkillMidBurst() throws Exception {
    assertThat(ServeProcess.unavailableReason()).as("packaged engine").isEmpty();
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", adminPort,
        InsecureChannelCredentials.create()).build();
    try {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(ch);
      for (int round = 0; round < ROUNDS; round++) {
        Process engine = serve();
        ServeProcess.awaitServing(admin, engine);
        checkAcknowledged(admin, round);
        burstThenKill(admin, engine, round);
      }
      Process last = serve();
      ServeProcess.awaitServing(admin, last);
      checkAcknowledged(admin, ROUNDS);
      System.out.printf("StateCrashIT: %d rounds, %d targets created, %d LUNs, %d deletions "
          + "acknowledged; all present after every SIGKILL%n", ROUNDS, created.size(),
          withLun.size(), deleted.size());
    } finally {
      ch.shutdownNow();
    }
    assertThat(Files.readString(dir.resolve("engine.log"))).doesNotContain("damaged");
  }

  private void burstThenKill(TargetAdminBlockingStub admin, Process engine, int round)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    int acksBefore = created.size() + withLun.size() + deleted.size();
    try {
      for (int c = 0; c < CALLERS; c++) {
        int caller = c;
        pool.submit(() -> changes(admin.withDeadlineAfter(30, TimeUnit.SECONDS), round, caller));
      }
      await("acknowledgements before the kill").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(5)).until(() -> created.size() + withLun.size()
              + deleted.size() - acksBefore >= MIN_ACKS_BEFORE_KILL);
      engine.destroyForcibly(); // SIGKILL: the launcher execs java, so this is the JVM
      assertThat(engine.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(created.size() + withLun.size() + deleted.size() - acksBefore)
        .as("changes acknowledged in round %d before the kill", round)
        .isGreaterThanOrEqualTo(MIN_ACKS_BEFORE_KILL);
  }

  /** One caller's changes until the engine stops answering; records each acknowledgement. */
  private void changes(TargetAdminBlockingStub admin, int round, int caller) {
    try {
      for (int i = 0; ; i++) {
        String name = "iqn.2026-11.org.example:crash-r" + round + "-c" + caller + "-" + i;
        admin.createTarget(CreateTargetRequest.newBuilder().setName(name).build());
        created.add(name);
        admin.createLun(CreateLunRequest.newBuilder().setTarget(name).setLun(0)
            .setSizeBytes(1 << 20).build());
        withLun.add(name);
        if (i % 3 == 2) {
          String old = "iqn.2026-11.org.example:crash-r" + round + "-c" + caller + "-" + (i - 1);
          deleteSent.add(old);
          admin.deleteTarget(DeleteTargetRequest.newBuilder().setName(old).setForce(true)
              .build());
          deleted.add(old);
        }
      }
    } catch (StatusRuntimeException e) {
      // the engine was killed: this caller's last change is in flight, unknown
    }
  }

  private void checkAcknowledged(TargetAdminBlockingStub admin, int round) {
    Map<String, Target> now = admin.listTargets(ListTargetsRequest.getDefaultInstance())
        .getTargetsList().stream().collect(Collectors.toMap(Target::getName, t -> t));
    for (String name : created) {
      if (deleted.contains(name)) {
        assertThat(now).as("deleted before kill %d", round).doesNotContainKey(name);
      } else if (!deleteSent.contains(name)) {
        assertThat(now).as("created before kill %d", round).containsKey(name);
      }
    }
    for (String name : withLun) {
      if (!deleteSent.contains(name)) {
        assertThat(now.get(name).getLunsList()).as("LUN of %s", name).singleElement()
            .satisfies(l -> assertThat(l.getCondition()).isEmpty());
      }
    }
  }
}
