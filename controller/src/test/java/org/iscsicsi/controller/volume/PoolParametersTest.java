package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The pool-mode StorageClass parameters: {@code placement}, {@code backend} and
 * {@code replicas} parsed and validated, not part of a volume's identity; without a pool each of
 * them is INVALID_ARGUMENT naming {@code engines.mode: pool} (except {@code backend: fileio} and
 * {@code replicas: 1}, which every controller serves); in a pool any backend passes here (placement
 * skips engines without it) and replica counts without replication are INVALID_ARGUMENT naming
 * the parameter.
 */
class PoolParametersTest {

  private static Status status(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("no error");
  }

  @Test
  void parsesThePoolKeysOutsideTheVolumesIdentity() {
    VolumeParameters p = VolumeParameters.parse(Map.of("placement", "spreadZones",
        "backend", "fileio", "replicas", "1"));
    assertThat(p.pool()).isEqualTo(new PoolParameters(Optional.of(PlacementPolicy.SPREAD_ZONES),
        Optional.of("fileio"), 1));
    assertThat(p.canonical()).doesNotContainKeys("placement", "backend", "replicas");
    assertThat(VolumeParameters.parse(Map.of()).pool().policy())
        .isEqualTo(PlacementPolicy.LEAST_ALLOCATED);
    for (Map<String, String> bad : List.of(Map.of("placement", "random"),
        Map.of("backend", "LVM!"), Map.of("replicas", "0"), Map.of("replicas", "two"))) {
      assertThatThrownBy(() -> VolumeParameters.parse(bad))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(((StatusRuntimeException) e).getStatus().getDescription())
              .contains(bad.keySet().iterator().next()));
    }
  }

  @Test
  void withoutAPoolThePoolKeysNameThePoolMode() {
    for (Map<String, String> poolOnly : List.of(Map.of("placement", "leastAllocated"),
        Map.of("backend", "lvm"), Map.of("replicas", "2"))) {
      Status s = status(() -> VolumeParameters.parse(poolOnly).pool().requireSupported(false));
      assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(s.getDescription()).contains(poolOnly.keySet().iterator().next())
          .contains("engines.mode: pool");
    }
    VolumeParameters.parse(Map.of("backend", "fileio", "replicas", "1")).pool()
        .requireSupported(false);
  }

  @Test
  void inAPoolBackendsAndOneToThreeReplicasPass() {
    VolumeParameters.parse(Map.of("placement", "spreadZones")).pool().requireSupported(true);
    VolumeParameters.parse(Map.of("backend", "lvm-thin")).pool().requireSupported(true);
    VolumeParameters.parse(Map.of("replicas", "3")).pool().requireSupported(true);
    assertThat(status(() -> VolumeParameters.parse(Map.of("replicas", "4")))
        .getDescription()).contains("replicas").contains("1 to 3");
  }

  @Test
  void replicasAboveOneArePartOfTheVolumesIdentityAndReadBack() {
    VolumeParameters two = VolumeParameters.parse(Map.of("replicas", "2"));
    assertThat(two.canonical()).containsEntry("replicas", "2");
    assertThat(VolumeParameters.fromCanonical(two.canonical(), Map.of()).pool().replicas())
        .isEqualTo(2);
    assertThat(VolumeParameters.parse(Map.of("replicas", "1")).canonical())
        .isEqualTo(VolumeParameters.parse(Map.of()).canonical());
  }
}
