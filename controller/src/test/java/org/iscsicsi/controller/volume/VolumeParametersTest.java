package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * StorageClass parameter validation: known keys parsed, provisioner keys accepted, anything else
 * INVALID_ARGUMENT naming the key; CHAP on unless {@code chap} says false, mutual CHAP only with
 * CHAP; pool limits parsed but not part of the volume's identity; the canonical form round-trips
 * through target labels, and labels without a chap key read as no CHAP.
 */
class VolumeParametersTest {

  @Test
  void parsesEveryKnownKey() {
    VolumeParameters p = VolumeParameters.parse(Map.of("fsType", "XFS", "provisioning", "thick",
        "chap", "on", "portals", "10.0.0.1:3260, [fd00::1]:3261", "multiNodeMultiWriter", "true",
        "blockSize", "4096", "csi.storage.k8s.io/pvc/name", "data", "mutualChap", "yes",
        "overcommitRatio", "2.5", "maxVolumeSize", "100Gi"));
    assertThat(p).isEqualTo(new VolumeParameters("xfs", true, true, true,
        List.of("10.0.0.1:3260", "[fd00::1]:3261"), true, 4096, new PoolLimits(2.5, 100L << 30),
        Map.of("pvc/name", "data")));
    assertThat(VolumeParameters.parse(Map.of())).isEqualTo(VolumeParameters.defaults());
    assertThat(p.canonical()).doesNotContainKeys("overcommitRatio", "maxVolumeSize");
  }

  @Test
  void chapIsOnUnlessTurnedOff() {
    assertThat(VolumeParameters.parse(Map.of()).chap()).isTrue();
    assertThat(VolumeParameters.parse(Map.of("chap", "")).chap()).isTrue();
    assertThat(VolumeParameters.parse(Map.of("chap", "true")).chap()).isTrue();
    assertThat(VolumeParameters.parse(Map.of("chap", "false")).chap()).isFalse();
    assertThat(VolumeParameters.parse(Map.of("chap", "off")).chap()).isFalse();
    assertThat(VolumeParameters.parse(Map.of()).mutualChap()).isFalse();
    assertThat(VolumeParameters.fromCanonical(Map.of(), Map.of()).chap()).isFalse();
  }

  @Test
  void rejectsUnknownKeysAndBadValues() {
    for (Map<String, String> bad : List.of(Map.of("size", "1"), Map.of("fsType", "ntfs"),
        Map.of("chap", "2"), Map.of("portals", "host"), Map.of("portals", "h:0"),
        Map.of("portals", ","), Map.of("blockSize", "520"), Map.of("provisioning", "lazy"),
        Map.of("mutualChap", "maybe"), Map.of("overcommitRatio", "0"),
        Map.of("overcommitRatio", "NaN"), Map.of("overcommitRatio", "lots"),
        Map.of("maxVolumeSize", "10GB"), Map.of("maxVolumeSize", "-1"),
        Map.of("mutualChap", "true", "chap", "false"))) {
      assertThatThrownBy(() -> VolumeParameters.parse(bad))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> {
            Status s = ((StatusRuntimeException) e).getStatus();
            assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(s.getDescription()).containsAnyOf(bad.keySet().toArray(String[]::new));
          });
    }
  }

  @Test
  void canonicalFormRoundTripsThroughLabels() {
    VolumeParameters p = VolumeParameters.parse(Map.of("fsType", "ext4", "mutualChap", "true",
        "portals", "a:1,b:2", "csi.storage.k8s.io/pvc/namespace", "ns"));
    Map<String, String> labels = VolumeLabels.forVolume("drv", "n", p, "", "mount");
    assertThat(VolumeLabels.parameters(labels)).isEqualTo(p);
  }
}
