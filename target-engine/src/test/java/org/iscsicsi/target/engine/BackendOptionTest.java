package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.iscsicsi.target.registry.BackendSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * {@code serve --backend NAME=TYPE:ARGS}: each type parsed into what the registry serves, and
 * malformed values (no name, an unknown type, a bad volume group or device, a name the
 * controller's rule refuses, a repeated name) refused with what is expected.
 */
class BackendOptionTest {

  @Test
  void parsesEachType() {
    assertThat(BackendOption.parse("files=fileio"))
        .isEqualTo(new BackendOption.Given(BackendSpec.fileio("files")));
    assertThat(BackendOption.parse("vg0=lvm:data"))
        .isEqualTo(new BackendOption.Given(BackendSpec.lvm("vg0", "data")));
    assertThat(BackendOption.parse("lvm-thin=lvm-thin:data/tpool"))
        .isEqualTo(new BackendOption.Given(BackendSpec.lvmThin("lvm-thin", "data", "tpool")));
    assertThat(BackendOption.parse("disk0=blockio:/dev/sdb1"))
        .isEqualTo(new BackendOption.Given(BackendSpec.blockio("disk0", Path.of("/dev/sdb1"))));
    assertThat(BackendOption.parse("ssd=disk:/dev/disk/by-id/wwn-0x5000c5,thin"))
        .isEqualTo(new BackendOption.Disk("ssd", Path.of("/dev/disk/by-id/wwn-0x5000c5"), true));
    assertThat(BackendOption.parse("hdd=disk:/dev/sdc"))
        .isEqualTo(new BackendOption.Disk("hdd", Path.of("/dev/sdc"), false));
  }

  @ParameterizedTest
  @ValueSource(strings = {"lvm:data", "=lvm:data", "x=zfs:tank", "x=lvm:", "x=lvm:-rf",
      "x=lvm:a b", "x=lvm-thin:data", "x=lvm-thin:data/snapshot0", "x=fileio:/srv",
      "x=blockio:sdb", "x=blockio:/dev/../etc/passwd", "x=disk:dev/sdb", "X=lvm:data",
      "a_b=lvm:data"})
  void refusesMalformedValues(String value) {
    assertThatThrownBy(() -> BackendOption.parse(value))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void refusesARepeatedName() {
    assertThatThrownBy(() -> EngineConfig.of(Path.of("/tmp/x")).withBackends(List.of(
        BackendOption.parse("a=lvm:one"), BackendOption.parse("a=lvm:two"))))
        .hasMessageContaining("repeat");
  }
}
