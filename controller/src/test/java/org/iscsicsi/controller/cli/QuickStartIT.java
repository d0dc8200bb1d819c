package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.ProcessReady;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's quick start works as written: its three {@code ```sh quickstart*} blocks, taken
 * verbatim from README.md with only {@code STATE} and {@code PORTAL} set to a scratch directory
 * and a free port, run each with {@code bash -euo pipefail FILE} from the clone's root. The serve
 * block comes up; the second block's {@code iscsi-ls} shows the volume's target with LUN 0, its
 * {@code qemu-io} writes 1 MiB and a second login reads the same bytes back, {@code volume ls}
 * shows the volume published; the credentials file is 0600 and the password never reaches the
 * controller's log; the cleanup block deletes the volume and its LUN file. The build block is not
 * run: failsafe runs after {@code package}, which is what it does.
 */
class QuickStartIT {

  private static final Duration BLOCK_TIMEOUT = Duration.ofMinutes(3);
  private static final String TARGET = "iqn.2026-11.org.iscsicsi:local.demo";

  @TempDir Path dir;

  @Test
  void readmeQuickStartRunsAsWritten() throws Exception {
    assumeThat(List.of("bash", "iscsi-ls", "qemu-io").stream().filter(t -> !Exec.available(t)))
        .as("tools the quick start uses (libiscsi-bin, qemu-utils)").isEmpty();
    assumeThat(Exec.qemuIscsiDriver()).as("qemu's iSCSI driver (qemu-block-extra)").isTrue();
    Path state = dir.resolve("state");
    String portal = "127.0.0.1:" + ServeProcess.freePort();
    Path root = ReadmeQuickStart.README.getParent();
    Path serveLog = dir.resolve("serve.log");
    Process serve = new ProcessBuilder("bash", "-euo", "pipefail",
        script("serve", ReadmeQuickStart.block("quickstart-serve"), state, portal).toString())
        .directory(root.toFile()).redirectErrorStream(true)
        .redirectOutput(serveLog.toFile()).start();
    try {
      long t0 = System.nanoTime();
      awaitSocket(state.resolve("csi.sock"), serve, serveLog);
      long ready = System.nanoTime();
      Exec.Result use = bash(root, script("use", ReadmeQuickStart.block("quickstart"), state,
          portal));
      long used = System.nanoTime();
      assertThat(use.exit()).as(use.output()).isZero();
      assertThat(use.output())
          .contains("Target:" + TARGET + " Portal:" + portal)
          .contains("Lun:0    Type:DIRECT_ACCESS")
          .contains("wrote 1048576/1048576 bytes at offset 0")
          .contains("read 1048576/1048576 bytes at offset 0")
          .doesNotContain("Pattern verification failed")
          .containsPattern("local\\.demo +1 GiB +healthy +iqn\\.2008-11\\.org\\.linux-kvm");
      Path env = state.resolve("demo.env");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(env)))
          .isEqualTo("rw-------");
      String password = Files.readAllLines(env).stream()
          .filter(l -> l.startsWith("export LIBISCSI_CHAP_PASSWORD='"))
          .map(l -> l.substring(l.indexOf('=') + 2, l.length() - 1)).findFirst().orElseThrow();
      assertThat(password).hasSize(16);
      assertThat(Files.readString(serveLog)).doesNotContain(password);

      Exec.Result cleanup = bash(root, script("cleanup",
          ReadmeQuickStart.block("quickstart-cleanup"),
          state, portal));
      long cleaned = System.nanoTime();
      assertThat(cleanup.exit()).as(cleanup.output()).isZero();
      assertThat(cleanup.output()).contains("deleted local.demo");
      try (var luns = Files.list(state.resolve("luns"))) {
        assertThat(luns.toList()).isEmpty();
      }
      System.out.printf("QuickStartIT: serve ready %d ms; create, publish, iscsi-ls, write, "
          + "read back, ls %d ms; unpublish and delete %d ms%n", (ready - t0) / 1_000_000,
          (used - ready) / 1_000_000, (cleaned - used) / 1_000_000);
    } finally {
      stop(serve);
    }
  }

  /** The block as README has it, with the test's STATE and PORTAL, in a file for bash. */
  private Path script(String name, String block, Path state, String portal) throws IOException {
    Path f = dir.resolve(name + ".sh");
    Files.writeString(f, ReadmeQuickStart.substitute(block, state, portal));
    return f;
  }

  private static Exec.Result bash(Path root, Path script) throws IOException,
      InterruptedException {
    return Exec.run(BLOCK_TIMEOUT, new ProcessBuilder("bash", "-euo", "pipefail",
        script.toString()).directory(root.toFile()));
  }

  private static void awaitSocket(Path socket, Process serve, Path log) throws Exception {
    ProcessReady.await("the serve block makes its socket", serve, log, Duration.ofSeconds(60),
        () -> Files.exists(socket));
  }

  /** SIGTERM to bash and what it started (the controller's JVM), then wait for them. */
  private static void stop(Process p) throws InterruptedException {
    List<ProcessHandle> children = p.descendants().toList();
    children.forEach(ProcessHandle::destroy);
    p.destroy();
    for (ProcessHandle c : children) {
      c.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> {
        c.destroyForcibly();
        return c;
      }).join();
    }
    p.waitFor(30, TimeUnit.SECONDS);
  }
}
