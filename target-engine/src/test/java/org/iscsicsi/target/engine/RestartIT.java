package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restart acceptance test: {@code bin/target-engine serve} runs as its own process (from the
 * packaged jar, hence an integration test run by failsafe after {@code package}); qemu-io drives a
 * write workload through qemu's iSCSI driver; the engine is SIGKILLed mid-workload and restarted
 * on the same state directory. It pins that every target, LUN (number, serial, NAA), grant and
 * CHAP secret is back, that every write acknowledged after a flush (SYNCHRONIZE CACHE) or with FUA
 * reads back intact, and prints how long the engine took to serve again.
 */
class RestartIT {

  static final String T = "iqn.2026-11.org.example:restart";
  static final String INI = "iqn.2026-11.org.example:qemu";
  static final String USER = "alice";
  static final String SECRET = "restart-secret-0123";
  // Free ports picked once: the restarted engine must come back on the same portal, and fixed
  // numbers collided with other builds running on the same machine.
  static final int ISCSI_PORT = ServeProcess.freePort();
  static final int ADMIN_PORT = ServeProcess.freePort();
  static final int CHUNK = 64 << 10;
  static final long B_BASE = 8 << 20;
  static final int B_WRITES = 800;

  @TempDir
  Path dir;

  final List<Process> processes = new ArrayList<>();

  @AfterEach
  void cleanup() throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  Process serve() throws IOException {
    Process p = ServeProcess.start(List.of("--state-dir", dir.resolve("state").toString(),
        "--portal", "127.0.0.1:" + ISCSI_PORT, "--admin", "127.0.0.1:" + ADMIN_PORT),
        dir.resolve("engine.log"), java.util.Map.of());
    processes.add(p);
    return p;
  }

  /** Time until the iSCSI port accepts a TCP connection. */
  static Duration awaitPortal(Process engine) throws Exception {
    long start = System.nanoTime();
    // polled every 50 ms: the time to the first accepted connection is what is measured
    org.awaitility.Awaitility.await("iSCSI portal up").atMost(Duration.ofSeconds(90))
        .pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50)).until(() -> {
          assertThat(engine.isAlive()).as("engine process exited").isTrue();
          try (var s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", ISCSI_PORT), 1000);
            return true;
          } catch (IOException e) {
            return false;
          }
        });
    return Duration.ofNanos(System.nanoTime() - start);
  }

  static String image(String password) {
    return "driver=iscsi,transport=tcp,portal=127.0.0.1:" + ISCSI_PORT + ",target=" + T
        + ",lun=0,initiator-name=" + INI + ",user=" + USER + ",password=" + password;
  }

  static List<String> qemuIo(String password, List<String> commands) {
    List<String> argv = new ArrayList<>(List.of("stdbuf", "-oL", "qemu-io", "--image-opts"));
    for (String c : commands) {
      argv.add("-c");
      argv.add(c);
    }
    argv.add(image(password));
    return argv;
  }

  @Test
  void sigkillDuringWritesLosesNothingAcknowledged() throws Exception {
    assumeThat(Exec.available("qemu-io") && Exec.available("stdbuf"))
        .as("qemu-io (qemu-utils, qemu-block-extra) and stdbuf installed").isTrue();
    assertThat(ServeProcess.unavailableReason()).as("packaged engine").isEmpty();

    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", ADMIN_PORT,
        InsecureChannelCredentials.create()).build();
    try {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(ch);
      Process engine = serve();
      Duration firstStart = ServeProcess.awaitServing(admin, engine);
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).setAlias("restart")
          .putLabels("pvc", "data").build());
      Lun lun = admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(64 << 20).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T).setInitiator(INI)
          .build());
      admin.setChap(SetChapRequest.newBuilder().setTarget(T).setUser(USER).setPassword(SECRET)
          .build());
      Target before = admin.getTarget(GetTargetRequest.newBuilder().setName(T).build());

      // A: acknowledged after a flush, and with FUA.
      var a = Exec.run(Duration.ofSeconds(60), qemuIo(SECRET, List.of(
          "write -P 0xab 0 4M", "flush", "write -f -P 0xcd 4M 1M")));
      assertThat(a.exit()).as(a.output()).isZero();
      assertThat(a.output()).contains("wrote 4194304/4194304 bytes at offset 0")
          .contains("wrote 1048576/1048576 bytes at offset 4194304");

      // B: a stream of FUA writes, the engine killed while it runs.
      List<String> bCommands = new ArrayList<>();
      for (int i = 0; i < B_WRITES; i++) {
        bCommands.add("write -f -P 0xef " + (B_BASE + (long) i * CHUNK) + " " + CHUNK);
      }
      Path bLog = dir.resolve("b.log");
      Process b = new ProcessBuilder(qemuIo(SECRET, bCommands)).redirectErrorStream(true)
          .redirectOutput(bLog.toFile()).start();
      processes.add(b);
      org.awaitility.Awaitility.await("30 writes acknowledged").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(20)).until(() -> acked(bLog).size() >= 30
              || !b.isAlive());
      engine.destroyForcibly(); // SIGKILL: the launcher execs java, so this is the JVM
      assertThat(engine.waitFor(10, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(300);
      b.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      List<Long> acked = acked(bLog);
      assertThat(acked.size()).as("writes acknowledged before the kill").isGreaterThanOrEqualTo(30)
          .as("the kill came mid-workload").isLessThan(B_WRITES);

      // Restart on the same state directory.
      long t0 = System.nanoTime();
      Process again = serve();
      Duration portal = awaitPortal(again);
      Duration restart = ServeProcess.awaitServing(admin, again).plus(portal);
      System.out.printf("RestartIT: first start %d ms; after SIGKILL the iSCSI portal accepted "
          + "connections after %d ms, the admin API after %d ms (wall %d ms); %d FUA writes "
          + "acknowledged before the kill%n", firstStart.toMillis(), portal.toMillis(),
          restart.toMillis(), (System.nanoTime() - t0) / 1_000_000, acked.size());

      Target after = admin.getTarget(GetTargetRequest.newBuilder().setName(T).build());
      assertThat(after.getLunsList()).singleElement().satisfies(l -> {
        assertThat(l.getSerial()).isEqualTo(lun.getSerial());
        assertThat(l.getNaa()).isEqualTo(lun.getNaa());
        assertThat(l.getSizeBytes()).isEqualTo(lun.getSizeBytes());
        assertThat(l.getPath()).isEqualTo(lun.getPath());
        assertThat(l.getCondition()).isEmpty();
      });
      assertThat(after.getGrantsList()).isEqualTo(before.getGrantsList());
      assertThat(after.getChap()).isEqualTo(before.getChap());
      assertThat(after.getLabelsMap()).isEqualTo(before.getLabelsMap());
      assertThat(after.getAlias()).isEqualTo("restart");

      // Every acknowledged write reads back, through a CHAP login with the restored secret.
      List<String> reads = new ArrayList<>(List.of("read -P 0xab 0 4M", "read -P 0xcd 4M 1M"));
      for (long off : acked) {
        reads.add("read -P 0xef " + off + " " + CHUNK);
      }
      var verify = Exec.run(Duration.ofSeconds(120), qemuIo(SECRET, reads));
      assertThat(verify.exit()).as(verify.output()).isZero();
      assertThat(verify.output()).doesNotContain("Pattern verification failed")
          .contains("read 4194304/4194304 bytes at offset 0");
      assertThat(verify.output().lines().filter(l -> l.startsWith("read ")).count())
          .isEqualTo(reads.size());

      var wrongSecret = Exec.run(Duration.ofSeconds(60),
          qemuIo("not-the-secret-999", List.of("read 0 512")));
      assertThat(wrongSecret.exit()).as(wrongSecret.output()).isNotZero();

      again.destroy(); // SIGTERM: orderly shutdown
      assertThat(again.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(Files.readString(dir.resolve("engine.log"))).doesNotContain(SECRET);
    } finally {
      ch.shutdownNow();
    }
  }

  private static final Pattern WROTE = Pattern.compile(
      "wrote " + CHUNK + "/" + CHUNK + " bytes at offset (\\d+)");

  static List<Long> acked(Path log) throws IOException {
    List<Long> offsets = new ArrayList<>();
    if (!Files.exists(log)) {
      return offsets;
    }
    Matcher m = WROTE.matcher(Files.readString(log));
    while (m.find()) {
      offsets.add(Long.parseLong(m.group(1)));
    }
    return offsets;
  }
}
