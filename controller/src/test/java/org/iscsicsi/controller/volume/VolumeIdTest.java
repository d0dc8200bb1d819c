package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Volume ids: DNS-label names are kept (readable IQNs), other names hash to a stable
 * {@code h-} id, and ids from requests parse back only when they could be ours.
 */
class VolumeIdTest {

  @Test
  void kubernetesNamesAreKeptAndOthersHashed() {
    assertThat(VolumeId.forName("local", "pvc-0f3c").toString()).isEqualTo("local.pvc-0f3c");
    VolumeId hashed = VolumeId.forName("local", "My Volume");
    assertThat(hashed.local()).matches("h-[0-9a-f]{24}");
    assertThat(VolumeId.forName("local", "My Volume")).isEqualTo(hashed);
    assertThat(VolumeId.forName("local", "my volume")).isNotEqualTo(hashed);
    assertThat(VolumeId.forName("local", "h-abc").local()).startsWith("h-").hasSize(26);
    assertThat(VolumeId.forName("local", "x".repeat(64)).local()).startsWith("h-");
  }

  @Test
  void parsesOnlyWellFormedIds() {
    assertThat(VolumeId.parse("local.pvc-1")).contains(new VolumeId("local", "pvc-1"));
    assertThat(VolumeId.parse("fake-vol-id")).isEmpty();
    assertThat(VolumeId.parse(".x")).isEmpty();
    assertThat(VolumeId.parse("local.")).isEmpty();
    assertThat(VolumeId.parse("Local.x")).isEmpty();
    assertThat(VolumeId.parse("local.a.b")).isEmpty();
  }

  @Test
  void theIqnIsThePrefixAndTheId() {
    assertThat(new VolumeId("local", "pvc-1").iqn("iqn.2026-11.org.iscsicsi"))
        .isEqualTo("iqn.2026-11.org.iscsicsi:local.pvc-1");
  }

  /** "pool" names no engine: pool-mode ids start with it and parse as pooled. */
  @Test
  void poolIsReservedForPoolModeIds() {
    assertThat(VolumeId.isEngineName("pool")).isFalse();
    assertThat(VolumeId.isEngineName("node-a")).isTrue();
    assertThat(VolumeId.parse("pool.pvc-1").orElseThrow().pooled()).isTrue();
    assertThat(VolumeId.parse("local.pvc-1").orElseThrow().pooled()).isFalse();
  }
}
