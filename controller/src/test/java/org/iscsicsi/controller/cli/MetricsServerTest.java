package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.controller.server.CsiMetrics;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's {@code /metrics} carries the embedded target engine's metrics beside its own
 * CSI call counters and latency histogram, so one scrape of the controller pod shows both.
 */
class MetricsServerTest {

  @TempDir
  Path dir;

  @Test
  void embeddedEngineMetricsAppearBesideCsiMetrics() throws Exception {
    try (EngineSet engines = new EngineSet()) {
      EmbeddedEngine.start(engines, "local", dir, new HostPort("127.0.0.1", 0), List.of(),
          Map.of(), Duration.ofSeconds(30));
      CsiMetrics csi = new CsiMetrics();
      Path sock = dir.resolve("csi.sock");
      try (CsiServer identity = CsiServer.start(new Endpoint.Unix(sock),
          List.of(new IdentityService(new DriverInfo("iscsi.example.org", "1"), engines)), csi)) {
        ManagedChannel ch = Grpc.newChannelBuilder("unix://" + sock,
            InsecureChannelCredentials.create()).build();
        try {
          IdentityGrpc.newBlockingStub(ch).probe(Csi.ProbeRequest.getDefaultInstance());
        } finally {
          ch.shutdownNow();
        }
      }
      MetricsServer server = MetricsServer.start(new HostPort("127.0.0.1", 0), csi,
          engines::embeddedMetrics);
      try (HttpClient http = HttpClient.newHttpClient()) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("# TYPE csi_calls_total counter")
            .contains("csi_calls_total{code=\"OK\",method=\"csi.v1.Identity/Probe\"} 1.0")
            .contains("# TYPE csi_call_seconds histogram")
            .contains("csi_call_seconds_count{code=\"OK\",method=\"csi.v1.Identity/Probe\"} 1")
            .contains("# TYPE iscsi_targets gauge").contains("iscsi_targets 0")
            .contains("iscsi_logins_total{reason=\"success\",result=\"success\"} 0");
      } finally {
        server.close();
      }
    }
  }
}
