package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's lifecycle and configuration: NIO and epoll transports both serve a login, a port in
 * use fails {@link IscsiServer#start()} with a clear error, close is idempotent and ends sessions,
 * and bad configuration (portals, login defaults) is refused up front.
 */
class IscsiServerLifecycleTest {

  static final String TARGET = "iqn.2026-11.org.iscsicsi:lifecycle";

  @TempDir
  Path dir;

  @Test
  void nioAndEpollTransportsBothServe() throws Exception {
    try (TestTargets targets = new TestTargets()) {
      targets.add(TARGET, Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(),
          Optional.empty(), Map.of(), dir, 1 << 20);
      for (boolean nativeTransport : new boolean[] {false, true}) {
        try (IscsiServer server = new IscsiServer(IscsiServerConfig.defaults()
            .withBind("127.0.0.1", 0).withNativeTransport(nativeTransport), targets)) {
          server.start();
          try (RawInitiator r = new RawInitiator(server.boundPort())) {
            assertThat(r.login("iqn.2026-11.org.iscsicsi.test:lc", TARGET, Map.of()).byteAt(36))
                .isZero();
            assertThat(server.sessionRegistry().sessions()).hasSize(1);
            server.close();
            assertThat(r.closedByTarget()).as("close ends sessions").isTrue();
            server.close(); // idempotent
          }
        }
      }
    }
  }

  @Test
  void portInUseFailsStartWithTheAddress() throws Exception {
    try (TestTargets targets = new TestTargets();
        IscsiServer first = new IscsiServer(IscsiServerConfig.defaults()
            .withBind("127.0.0.1", 0), targets)) {
      first.start();
      IscsiServer second = new IscsiServer(IscsiServerConfig.defaults()
          .withBind("127.0.0.1", first.boundPort()), targets);
      assertThatThrownBy(second::start).isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("127.0.0.1:" + first.boundPort());
      second.close();
      assertThatThrownBy(second::boundPort).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void badConfigurationIsRefusedUpFront() {
    assertThatThrownBy(() -> IscsiServerConfig.defaults()
        .withAdvertisedPortals(List.of("10.0.0.1"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> IscsiServerConfig.defaults().withBind("0.0.0.0", 70000))
        .isInstanceOf(IllegalArgumentException.class);
    IscsiServerConfig badDefaults = IscsiServerConfig.defaults()
        .withLoginDefaults(Map.of("MaxBurstLength", "12"));
    assertThatThrownBy(() -> new IscsiServer(badDefaults, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MaxBurstLength");
    assertThat(IscsiServerConfig.defaults().loginTimeout()).isEqualTo(Duration.ofSeconds(15));
  }
}
