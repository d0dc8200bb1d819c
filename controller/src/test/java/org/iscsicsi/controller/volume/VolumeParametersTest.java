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
 * INVALID_ARGUMENT naming the key; the canonical form round-trips through target labels.
 */
class VolumeParametersTest {

  @Test
  void parsesEveryKnownKey() {
    VolumeParameters p = VolumeParameters.parse(Map.of("fsType", "XFS", "provisioning", "thick",
        "chap", "on", "portals", "10.0.0.1:3260, [fd00::1]:3261", "multiNodeMultiWriter", "true",
        "blockSize", "4096", "csi.storage.k8s.io/pvc/name", "data"));
    assertThat(p).isEqualTo(new VolumeParameters("xfs", true, true,
        List.of("10.0.0.1:3260", "[fd00::1]:3261"), true, 4096, Map.of("pvc/name", "data")));
    assertThat(VolumeParameters.parse(Map.of())).isEqualTo(VolumeParameters.defaults());
  }

  @Test
  void rejectsUnknownKeysAndBadValues() {
    for (Map<String, String> bad : List.of(Map.of("size", "1"), Map.of("fsType", "ntfs"),
        Map.of("chap", "2"), Map.of("portals", "host"), Map.of("portals", "h:0"),
        Map.of("portals", ","), Map.of("blockSize", "520"), Map.of("provisioning", "lazy"))) {
      assertThatThrownBy(() -> VolumeParameters.parse(bad))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> {
            Status s = ((StatusRuntimeException) e).getStatus();
            assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(s.getDescription()).contains(bad.keySet().iterator().next());
          });
    }
  }

  @Test
  void canonicalFormRoundTripsThroughLabels() {
    VolumeParameters p = VolumeParameters.parse(Map.of("fsType", "ext4", "chap", "true",
        "portals", "a:1,b:2", "csi.storage.k8s.io/pvc/namespace", "ns"));
    Map<String, String> labels = VolumeLabels.forVolume("drv", "n", p, "", "mount");
    assertThat(VolumeLabels.parameters(labels)).isEqualTo(p);
  }
}
