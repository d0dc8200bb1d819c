package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** CSI endpoint strings: unix:///abs/path and tcp://host:port, with clear errors otherwise. */
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

  @Test
  void rejectsTheRest() {
    for (String bad : new String[] {"unix://relative.sock", "tcp://host", "tcp://h:x",
        "tcp://h:70000", "http://h:1", "/csi.sock"}) {
      assertThatThrownBy(() -> Endpoint.parse(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(bad);
    }
  }
}
