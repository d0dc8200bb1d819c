package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pins the one host:port syntax every address in the project takes (portals, TCP endpoints,
 * admin addresses): {@code host:port}, {@code [v6]:port}, a bare host with a default port; a
 * printed value parses back to itself; and what counts as loopback.
 */
class HostPortTest {

  @ParameterizedTest
  @CsvSource({"127.0.0.1:3260, 127.0.0.1, 3260", "0.0.0.0, 0.0.0.0, 3260",
      "[::1]:13340, ::1, 13340", "[fe80::1], fe80::1, 3260", "node-a:0, node-a, 0"})
  void portals(String in, String host, int port) {
    HostPort h = HostPort.parse(in, 3260);
    assertThat(h).isEqualTo(new HostPort(host, port));
    assertThat(HostPort.parse(h.toString(), -1)).isEqualTo(h);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"::1:3260|write IPv6 addresses as [addr]:port",
      "host:x|port 'x' is not a number", "host:70000|outside 0..65535", ":3260|has no host",
      "[::1|missing ']'"})
  void badPortals(String in, String message) {
    assertThatThrownBy(() -> HostPort.parse(in, 3260)).hasMessageContaining(message);
  }

  @Test
  void tcpEndpointsAndHostPortsAgree() {
    HostPort h = HostPort.parse("[fd00::7]:13340", -1);
    Endpoint e = Endpoint.parse("tcp://" + h);
    assertThat(e).isEqualTo(new Endpoint.Tcp(h.host(), h.port()));
    assertThat(e.toString()).isEqualTo("tcp://" + h);
    assertThatThrownBy(() -> Endpoint.parse("tcp://::1:5"))
        .hasMessageContaining("write IPv6 addresses as [addr]:port");
  }

  /** Only addresses every resolution of which is loopback count as loopback. */
  @Test
  void loopbackAddresses() {
    assertThat(new HostPort("127.0.0.1", 1).isLoopback()).isTrue();
    assertThat(new HostPort("127.8.9.10", 1).isLoopback()).isTrue();
    assertThat(new HostPort("::1", 1).isLoopback()).isTrue();
    assertThat(new HostPort("localhost", 1).isLoopback()).isTrue();
    assertThat(new HostPort("0.0.0.0", 1).isLoopback()).isFalse();
    assertThat(new HostPort("::", 1).isLoopback()).isFalse();
    assertThat(new HostPort("192.0.2.1", 1).isLoopback()).isFalse();
    assertThat(new HostPort("no-such-host.invalid", 1).isLoopback()).isFalse();
  }
}
