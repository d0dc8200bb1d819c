package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TCP admin API over mutual TLS accepts only client certificates whose subject CN is allowed
 * (the controller's by default), and follows its files as kubelet rotates a mounted Secret (a
 * new {@code ..data} directory swapped in by a symlink rename): the new server certificate is
 * presented and the new client CA trusted on the next connection, without a restart.
 */
class AdminTlsReloadTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  /** CN=controller gets in; CN=operator of the same CA is refused in the handshake. */
  @Test
  void onlyAllowedCommonNames() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki engines = TestPki.create(dir, "engines");
    TestPki clients = TestPki.create(dir, "clients");
    TestPki.Identity server = engines.issue("engine");
    AdminListener listener = new AdminListener(AdminAddress.tcp("127.0.0.1", 0),
        TestPki.tls(server, clients), false);
    assertThat(listener.clientCns()).containsExactly("controller");
    try (TargetEngine e = start(listener, "default")) {
      int port = e.adminTcpAddress().getPort();
      assertThat(name(port, TestPki.tls(clients.issue("controller"), engines)
          .channelCredentials())).isEqualTo("local");
      assertRefused(port, TestPki.tls(clients.issue("operator"), engines).channelCredentials());
    }
    try (TargetEngine e = start(listener.withClientCns(Set.of("operator")), "operator")) {
      int port = e.adminTcpAddress().getPort();
      assertThat(name(port, TestPki.tls(clients.issue("operator"), engines)
          .channelCredentials())).isEqualTo("local");
      assertRefused(port, TestPki.tls(clients.issue("controller"), engines)
          .channelCredentials());
    }
  }

  /** A rotated server certificate and client CA are used by new connections at once. */
  @Test
  void rotatedFilesArePickedUp() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki engines1 = TestPki.create(dir, "engines1");
    TestPki clients1 = TestPki.create(dir, "clients1");
    Path secret = Files.createDirectories(dir.resolve("secret"));
    mount(secret, "..v1", engines1.issue("engine"), clients1.caCertificate());
    AdminTls files = new AdminTls(secret.resolve("tls.crt"), secret.resolve("tls.key"),
        secret.resolve("ca.crt"));
    AdminListener listener = new AdminListener(AdminAddress.tcp("127.0.0.1", 0), files,
        false).withTlsReload(Duration.ofMillis(200));
    try (TargetEngine e = start(listener, "rotating")) {
      int port = e.adminTcpAddress().getPort();
      TestPki.Identity controller1 = clients1.issue("controller");
      assertThat(name(port, TestPki.tls(controller1, engines1).channelCredentials()))
          .isEqualTo("local");

      TestPki engines2 = TestPki.create(dir, "engines2");
      TestPki clients2 = TestPki.create(dir, "clients2");
      mount(secret, "..v2", engines2.issue("engine"), clients2.caCertificate());
      TestPki.Identity controller2 = clients2.issue("controller");
      await().atMost(WAIT).ignoreExceptions().until(() -> "local".equals(name(port,
          TestPki.tls(controller2, engines2).channelCredentials())));
      assertRefused(port, TestPki.tls(controller1, engines1).channelCredentials());
      assertRefused(port, TestPki.tls(controller1, engines2).channelCredentials());
    }
  }

  /**
   * Lays out a Secret volume as kubelet does: {@code name/} holds the files, {@code ..data}
   * points at it (replaced by a rename), and each file is a symlink through {@code ..data}.
   */
  private static void mount(Path secret, String version, TestPki.Identity server, Path ca)
      throws IOException {
    Path data = Files.createDirectories(secret.resolve(version));
    Files.copy(server.certificate(), data.resolve("tls.crt"));
    Files.copy(server.key(), data.resolve("tls.key"));
    Files.copy(ca, data.resolve("ca.crt"));
    Path link = secret.resolve("..data_tmp");
    Files.deleteIfExists(link);
    Files.createSymbolicLink(link, Path.of(version));
    Files.move(link, secret.resolve("..data"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    for (String f : new String[] {"tls.crt", "tls.key", "ca.crt"}) {
      if (!Files.isSymbolicLink(secret.resolve(f))) {
        Files.createSymbolicLink(secret.resolve(f), Path.of("..data", f));
      }
    }
  }

  private TargetEngine start(AdminListener listener, String state) throws IOException {
    return TargetEngine.start(EngineConfig.of(dir.resolve(state)).withIscsi(false)
        .withAdmin(listener));
  }

  private static String name(int port, ChannelCredentials credentials) throws Exception {
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).build();
    try {
      return TargetAdminGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getName();
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void assertRefused(int port, ChannelCredentials credentials) {
    assertThatThrownBy(() -> name(port, credentials))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }
}
