package org.iscsicsi.controller.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.ProcessReady;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code target-engine serve} process with its admin API on TCP under mutual TLS, and the
 * controller's remote-engine client: with the controller's certificate (and the engines' CA) it
 * creates a target there; a client without a certificate, with one from another CA, or with an
 * expired one is refused by the engine, and a controller that does not trust the engine's CA
 * refuses the engine. The real CLI reaches the engine with certificate files named by
 * environment variables, and not without them. Plain TCP off loopback is refused before any
 * connection.
 */
class RemoteEngineTlsIT {

  static final Duration TIMEOUT = Duration.ofSeconds(30);

  @TempDir Path dir;

  TestPki engines;
  TestPki controllers;
  Process engine;
  int port;

  @BeforeEach
  void startEngine() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    engines = TestPki.create(dir, "engines");
    controllers = TestPki.create(dir, "controllers");
    TestPki.Identity server = engines.issue("engine");
    port = ServeProcess.freePort();
    Path log = dir.resolve("engine.log");
    engine = TargetEngineLauncher.builder("serve", "--state-dir", dir.resolve("state").toString(),
        "--no-iscsi", "--admin", "127.0.0.1:" + port,
        "--admin-tls-cert", server.certificate().toString(),
        "--admin-tls-key", server.key().toString(),
        "--admin-tls-client-ca", controllers.caCertificate().toString(),
        "--admin-client-cn", "controller", "--admin-client-cn", "operator")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    ProcessReady.await("the engine serves", engine, log, Duration.ofSeconds(90),
        () -> Files.readString(log).contains("target engine serving"));
  }

  @AfterEach
  void stopEngine() throws InterruptedException {
    if (engine != null) {
      engine.destroy();
      if (!engine.waitFor(30, TimeUnit.SECONDS)) {
        engine.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void onlyTheControllersCertificateGetsIn() throws Exception {
    TestPki.Identity controller = controllers.issue("controller");
    try (RemoteEngine remote = RemoteEngine.connect(new Endpoint.Tcp("127.0.0.1", port),
        TestPki.tls(controller, engines))) {
      EngineClient client = new EngineClient(remote.channel(), TIMEOUT);
      assertThat(client.info().getVersion()).isNotEmpty();
      client.createTarget("iqn.2026-11.org.example:over-tls", "", Map.of());
      assertThat(client.listTargets(Map.of())).extracting(t -> t.getName())
          .containsExactly("iqn.2026-11.org.example:over-tls");
    }

    TestPki strangers = TestPki.create(dir, "strangers");
    assertRefused(TlsChannelCredentials.newBuilder()
        .trustManager(engines.caCertificate().toFile()).build());
    TestPki.Identity other = strangers.issue("other");
    assertRefused(TlsChannelCredentials.newBuilder()
        .keyManager(other.certificate().toFile(), other.key().toFile())
        .trustManager(engines.caCertificate().toFile()).build());
    TestPki.Identity expired = controllers.issueExpired("expired");
    assertRefused(TestPki.tls(expired, engines).channelCredentials());
    // the right client certificate, but the engine's is not of a CA the controller trusts
    assertRefused(TestPki.tls(controller, strangers).channelCredentials());
  }

  /** The operator's CLI finds its certificate files through environment variables. */
  @Test
  void cliWithCertificatesNamedByEnvironment() throws Exception {
    TestPki.Identity operator = controllers.issue("operator");
    String admin = "127.0.0.1:" + port;
    Exec.Result ok = TargetEngineLauncher.run(Map.of(
        "TARGET_ENGINE_ADMIN", admin,
        "TARGET_ENGINE_ADMIN_TLS_CERT", operator.certificate().toString(),
        "TARGET_ENGINE_ADMIN_TLS_KEY", operator.key().toString(),
        "TARGET_ENGINE_ADMIN_TLS_CA", engines.caCertificate().toString()), "info");
    assertThat(ok.exit()).as(ok.output()).isZero();
    assertThat(ok.output()).contains("0 target(s)");
    Exec.Result plain = TargetEngineLauncher.run(Map.of("TARGET_ENGINE_ADMIN", admin), "info");
    assertThat(plain.exit()).as(plain.output()).isEqualTo(1);
    assertThat(plain.output()).contains("cannot reach the engine's admin API");
  }

  @Test
  void plainTcpOffLoopbackIsRefused() {
    assertThatThrownBy(() -> RemoteEngine.connect(new Endpoint.Tcp("192.0.2.1", port)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not loopback")
        .hasMessageContaining("--engine-tls-cert");
  }

  private void assertRefused(ChannelCredentials credentials) {
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).build();
    try {
      assertThatThrownBy(() -> TargetAdminGrpc.newBlockingStub(ch)
          .withDeadlineAfter(TIMEOUT.toSeconds(), TimeUnit.SECONDS)
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()))
          .isInstanceOf(StatusRuntimeException.class)
          .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
          .isEqualTo(Status.Code.UNAVAILABLE);
    } finally {
      ch.shutdownNow();
    }
  }
}
