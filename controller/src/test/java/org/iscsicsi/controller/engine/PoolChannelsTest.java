package org.iscsicsi.controller.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The channels of pool mode against a real engine's admin API on TCP with mutual TLS (in this
 * JVM, port 0): an engine certificate naming {@code engine.iscsi.csi.iscsicsi.org} is accepted
 * when dialled by IP; one that names only the dialled IP (and localhost) is refused, so what is
 * verified is the fixed name, not the address a report gives.
 */
class PoolChannelsTest {

  static final Duration TIMEOUT = Duration.ofSeconds(20);

  @TempDir Path dir;

  @Test
  void theFixedServerNameIsVerified() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki engines = TestPki.create(dir, "engines");
    TestPki controllers = TestPki.create(dir, "controllers");
    EngineChannels channels = RemoteEngine.poolChannels(
        TestPki.tls(controllers.issue("controller"), engines));

    TestPki.Identity named = engines.issue("named", List.of(RemoteEngine.POOL_SERVER_NAME));
    try (TargetEngine engine = start(dir.resolve("named"), TestPki.tls(named, controllers))) {
      ManagedChannel ch = channels.open("127.0.0.1:" + engine.adminTcpAddress().getPort());
      try {
        assertThat(new EngineClient(ch, TIMEOUT).info().getVersion()).isNotEmpty();
      } finally {
        ch.shutdownNow();
      }
    }

    TestPki.Identity byAddress = engines.issue("by-address");
    try (TargetEngine engine = start(dir.resolve("by-address"),
        TestPki.tls(byAddress, controllers))) {
      ManagedChannel ch = channels.open("127.0.0.1:" + engine.adminTcpAddress().getPort());
      try {
        assertThatThrownBy(() -> new EngineClient(ch, TIMEOUT).info())
            .isInstanceOf(StatusRuntimeException.class)
            .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
            .isEqualTo(Status.Code.UNAVAILABLE);
      } finally {
        ch.shutdownNow();
      }
    }
  }

  private static TargetEngine start(Path stateDir, org.iscsicsi.target.admin.AdminTls tls)
      throws Exception {
    return TargetEngine.start(EngineConfig.of(stateDir).withPortal(new HostPort("127.0.0.1", 0))
        .withAdmin(new AdminListener(AdminAddress.tcp("127.0.0.1", 0), tls, false)));
  }
}
