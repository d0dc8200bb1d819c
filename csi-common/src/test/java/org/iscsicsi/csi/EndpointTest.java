package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * CSI endpoint strings: unix:///abs/path (or unix:/abs/path) and tcp://host:port, with clear
 * errors otherwise; the unix forms are the same ones the engine's admin address takes.
 */
class EndpointTest {

  @Test
  void parsesBothForms() {
    assertThat(Endpoint.parse("unix:///csi/csi.sock"))
        .isEqualTo(new Endpoint.Unix(Path.of("/csi/csi.sock")));
    assertThat(Endpoint.parse("tcp://127.0.0.1:13380"))
        .isEqualTo(new Endpoint.Tcp("127.0.0.1", 13380));
    assertThat(Endpoint.parse("tcp://[::1]:0")).isEqualTo(new Endpoint.Tcp("::1", 0));
    assertThat(Endpoint.parse("tcp://[::1]:5").toString()).isEqualTo("tcp://[::1]:5");
  }

  /** Both spellings gRPC accepts name the same socket; toString writes the CSI one. */
  @Test
  void unixSocketsInEitherSpelling() {
    Endpoint.Unix csi = new Endpoint.Unix(Path.of("/csi/csi.sock"));
    assertThat(Endpoint.parse("unix:/csi/csi.sock")).isEqualTo(csi);
    assertThat(Endpoint.parse("UNIX:///csi/./csi.sock")).isEqualTo(csi);
    assertThat(Endpoint.parse(csi.toString())).isEqualTo(csi);
    assertThat(csi.toString()).isEqualTo("unix:///csi/csi.sock");
    assertThat(Endpoint.unixPath("unix:/run/te.sock")).isEqualTo(Path.of("/run/te.sock"));
    assertThat(Endpoint.unixPath("unix:///run/te.sock")).isEqualTo(Path.of("/run/te.sock"));
  }

  @Test
  void rejectsUnixSocketsWithoutAnAbsolutePath() {
    for (String bad : new String[] {"unix:relative.sock", "unix://relative.sock", "unix:",
        "unix:/", "unix:///", "unix://"}) {
      assertThatThrownBy(() -> Endpoint.unixPath(bad))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad)
          .hasMessageContaining("absolute path");
    }
    assertThatThrownBy(() -> Endpoint.unixPath("tcp://h:1"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a unix socket");
  }

  @Test
  void rejectsTheRest() {
    for (String bad : new String[] {"unix://relative.sock", "tcp://host", "tcp://h:x",
        "tcp://h:70000", "http://h:1", "/csi.sock"}) {
      assertThatThrownBy(() -> Endpoint.parse(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(bad);
    }
  }
}
