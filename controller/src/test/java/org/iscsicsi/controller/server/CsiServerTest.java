package org.iscsicsi.controller.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CSI server on both endpoint kinds: serves on a unix socket and on TCP port 0 (reporting the
 * bound port), counts calls by method and code for /metrics, refuses to replace a file that is not
 * a socket, and removes its socket on close.
 */
class CsiServerTest {

  @TempDir Path dir;

  private static Csi.GetPluginInfoResponse info(String target) {
    ManagedChannel ch = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
        .build();
    try {
      return IdentityGrpc.newBlockingStub(ch).getPluginInfo(
          Csi.GetPluginInfoRequest.getDefaultInstance());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void servesOnUnixAndTcpAndCountsCalls() throws Exception {
    try (EngineSet engines = new EngineSet()) {
      var identity = new IdentityService(new DriverInfo("iscsi.example.org", "1"), engines);
      CsiMetrics metrics = new CsiMetrics();
      Path sock = dir.resolve("sub/csi.sock");
      try (CsiServer unix = CsiServer.start(new Endpoint.Unix(sock), List.of(identity), metrics);
          CsiServer tcp = CsiServer.start(new Endpoint.Tcp("127.0.0.1", 0), List.of(identity),
              metrics)) {
        assertThat(info("unix://" + sock).getName()).isEqualTo("iscsi.example.org");
        int port = ((Endpoint.Tcp) tcp.endpoint()).port();
        assertThat(port).isPositive();
        assertThat(info("127.0.0.1:" + port).getName()).isEqualTo("iscsi.example.org");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        metrics.writeText(text);
        assertThat(text.toString(StandardCharsets.UTF_8)).contains(
            "csi_calls_total{code=\"OK\",method=\"csi.v1.Identity/GetPluginInfo\"} 2.0",
            "csi_call_seconds_count{code=\"OK\",method=\"csi.v1.Identity/GetPluginInfo\"} 2");
      }
      assertThat(Files.exists(sock)).isFalse();
    }
  }

  @Test
  void refusesToReplaceAFileThatIsNotASocket() throws IOException {
    Path file = Files.writeString(dir.resolve("precious.txt"), "data");
    assertThatThrownBy(() -> CsiServer.start(new Endpoint.Unix(file), List.of()))
        .isInstanceOf(IOException.class).hasMessageContaining("not a socket");
    assertThat(Files.readString(file)).isEqualTo("data");
  }
}
