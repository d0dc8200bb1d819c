package org.iscsicsi.node.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the launcher: {@code bin/node-plugin serve} finds its jar and libraries, starts the CSI
 * server on a unix socket, answers GetPluginInfo, and stops on SIGTERM; {@code preflight} and a
 * missing {@code --endpoint} exit non-zero with a message.
 */
class LauncherIT {

  @TempDir Path tmp;

  private static Path launcher() {
    return Path.of(System.getProperty("user.dir"), "bin", "node-plugin");
  }

  @Test
  void servesUntilTerminated() throws Exception {
    Path sock = tmp.resolve("csi.sock");
    Files.writeString(tmp.resolve("initiatorname.iscsi"), "InitiatorName=iqn.2026-11.org.x:n1\n");
    Process p = new ProcessBuilder(launcher().toString(), "serve", "--endpoint", "unix://" + sock,
        "--node-name", "n1", "--state-dir", tmp.resolve("state").toString(),
        "--initiator-name-file", tmp.resolve("initiatorname.iscsi").toString(),
        "--gc-interval", "0s").redirectErrorStream(true)
        .redirectOutput(tmp.resolve("log").toFile()).start();
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> Files.exists(sock) || !p.isAlive());
      assertThat(sock).as(Files.readString(tmp.resolve("log"))).exists();
      ManagedChannel ch = Grpc.newChannelBuilder("unix://" + sock,
          InsecureChannelCredentials.create()).build();
      try {
        assertThat(IdentityGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
            .getPluginInfo(Csi.GetPluginInfoRequest.getDefaultInstance()).getName())
            .isEqualTo("iscsi.csi.iscsicsi.org");
      } finally {
        ch.shutdownNow();
      }
    } finally {
      p.destroy();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      p.destroyForcibly();
    }
    assertThat(sock).doesNotExist();
  }

  @Test
  void missingEndpointIsAUsageError() throws Exception {
    Process p = new ProcessBuilder(launcher().toString(), "serve", "--node-name", "n1")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(out).contains("Missing required option: '--endpoint");
  }

  @Test
  void preflightNamesWhatIsMissing() throws Exception {
    Process p = new ProcessBuilder(launcher().toString(), "preflight", "--iscsiadm",
        "/nonexistent/iscsiadm", "--initiator-name-file", tmp.resolve("none").toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(1);
    assertThat(out).contains("PROBLEM tools: /nonexistent/iscsiadm not found")
        .contains("open-iscsi").contains("PROBLEM iscsid:").contains("PROBLEM initiator-name:");
  }
}
