package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins the mount options: staging and bind mounts are nosuid and nodev unless the volume's mount
 * flags say suid or dev (also inside a comma-separated flag), a block volume's bind is nosuid
 * only (nodev would disable the device file itself), and read-only adds ro.
 */
class MountOptionsTest {

  @Test
  void stagingIsNosuidNodevByDefault() {
    assertThat(MountOptions.staging(List.of("noatime"), false))
        .containsExactly("noatime", "nosuid", "nodev");
    assertThat(MountOptions.staging(List.of(), true)).containsExactly("nosuid", "nodev", "ro");
  }

  @Test
  void explicitSuidOrDevIsKept() {
    assertThat(MountOptions.staging(List.of("suid"), false)).containsExactly("suid", "nodev");
    assertThat(MountOptions.staging(List.of("noatime,dev"), false))
        .containsExactly("noatime,dev", "nosuid");
    assertThat(MountOptions.staging(List.of("nosuid"), false)).containsExactly("nosuid", "nodev");
    assertThat(MountOptions.bind(List.of("suid", "dev"), false, false))
        .containsExactly("suid", "dev");
    // "devices" or "nosuidx" are not "dev" / "suid".
    assertThat(MountOptions.bind(List.of("devices=1,nosuidx"), false, false))
        .containsExactly("nosuid", "nodev");
  }

  @Test
  void bindsCarryOnlyPerMountOptions() {
    assertThat(MountOptions.bind(List.of("noatime", "discard"), false, true))
        .containsExactly("nosuid", "nodev", "ro");
    assertThat(MountOptions.bind(List.of(), true, false)).containsExactly("nosuid");
    assertThat(MountOptions.bind(List.of("dev"), true, true)).containsExactly("nosuid", "ro");
  }
}
