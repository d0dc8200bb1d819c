package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Pins the syntax of admin addresses: none, the two unix forms, host:port and tcp://. */
class AddressesTest {

  @Test
  void adminAddresses() {
    assertThat(AdminAddress.parse("none")).isInstanceOf(AdminAddress.None.class);
    assertThat(AdminAddress.parse("unix:/run/te.sock"))
        .isEqualTo(AdminAddress.unix(Path.of("/run/te.sock")));
    assertThat(AdminAddress.parse("unix:///run/te.sock"))
        .isEqualTo(AdminAddress.unix(Path.of("/run/te.sock")));
    assertThat(AdminAddress.parse("tcp://localhost:13340"))
        .isEqualTo(AdminAddress.tcp("localhost", 13340));
    assertThat(AdminAddress.parse(AdminAddress.DEFAULT))
        .isEqualTo(AdminAddress.unix(Path.of("/run/target-engine/admin.sock")));
    for (String printed : new String[] {"none", "unix:/run/te.sock", "[::1]:13340",
        "node-a:0"}) {
      assertThat(AdminAddress.parse(printed).toString()).isEqualTo(printed);
    }
    assertThat(AdminAddress.parse("[::1]:5")).isEqualTo(
        new AdminAddress.At(org.iscsicsi.csi.Endpoint.parse("tcp://[::1]:5")));
    assertThatThrownBy(() -> AdminAddress.parse("unix:relative.sock"))
        .hasMessageContaining("absolute path");
    assertThatThrownBy(() -> AdminAddress.parse("localhost"))
        .hasMessageContaining("has no port");
  }
}
