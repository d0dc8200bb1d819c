package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins how publish_context selects multipath staging: {@code multipath: "true"} needs a
 * well-formed {@code wwid} that is {@code 3} + the volume's NAA (so the map the node waits for is
 * the volume's); without the flag the volume is single-path even when a wwid is present.
 */
class VolumeSourceMultipathTest {

  private static final String NAA = "60a4953f400c8b0975d3484da9ffe860";

  private static Map<String, String> ctx(String multipath, String wwid) {
    Map<String, String> m = new HashMap<>(Map.of("targetIqn", "iqn.2026-11.org.iscsicsi:pvc-r1",
        "portals", "10.0.2.2:3260,10.0.2.3:3260", "lun", "0", "naa", NAA));
    if (multipath != null) {
      m.put("multipath", multipath);
    }
    if (wwid != null) {
      m.put("wwid", wwid);
    }
    return m;
  }

  @Test
  void multipathTrueCarriesTheWwid() {
    VolumeSource s = VolumeSource.fromPublishContext(ctx("true", "3" + NAA));
    assertThat(s.multipath()).isTrue();
    assertThat(s.wwid()).contains("3" + NAA);
    assertThat(s.target().portals()).hasSize(2);
    assertThat(VolumeSource.fromPublishContext(ctx(null, "3" + NAA)).multipath()).isFalse();
    assertThat(VolumeSource.fromPublishContext(ctx("false", null)).multipath()).isFalse();
  }

  @Test
  void aMissingMalformedOrForeignWwidIsRefused() {
    assertThatThrownBy(() -> VolumeSource.fromPublishContext(ctx("true", null)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lacks 'wwid'");
    assertThatThrownBy(() -> VolumeSource.fromPublishContext(ctx("true", "3" + NAA + ";x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multipath");
    assertThatThrownBy(() -> VolumeSource.fromPublishContext(ctx("true",
        "3" + NAA.replace('6', '7')))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not 3 + 'naa'");
    assertThatThrownBy(() -> VolumeSource.fromPublishContext(ctx("yes", "3" + NAA)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
