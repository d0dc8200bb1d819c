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
        .isEqualTo(new AdminAddress.Unix(Path.of("/run/te.sock")));
    assertThat(AdminAddress.parse("unix:///run/te.sock"))
        .isEqualTo(new AdminAddress.Unix(Path.of("/run/te.sock")));
    assertThat(AdminAddress.parse("tcp://localhost:13340"))
        .isEqualTo(new AdminAddress.Tcp("localhost", 13340));
    assertThat(AdminAddress.parse(AdminAddress.DEFAULT))
        .isEqualTo(new AdminAddress.Unix(Path.of("/run/target-engine/admin.sock")));
    assertThatThrownBy(() -> AdminAddress.parse("unix:relative.sock"))
        .hasMessageContaining("absolute path");
    assertThatThrownBy(() -> AdminAddress.parse("localhost"))
        .hasMessageContaining("has no port");
  }
}
