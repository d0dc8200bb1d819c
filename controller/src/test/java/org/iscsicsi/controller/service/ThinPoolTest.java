package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.Map;
import org.assertj.core.api.Assertions;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.PoolCapacity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thin pool's limits against the real embedded engine (its pool is the temporary
 * directory's filesystem): a volume above the largest allowed is OUT_OF_RANGE, one that would
 * make the volumes promise more than the overcommit ratio allows is RESOURCE_EXHAUSTED, both with
 * a message that names the limit and leave no target; a StorageClass lowers the limits and cannot
 * raise them; GetCapacity reports what the ratio leaves (thin) or that and the free bytes (thick),
 * and the largest volume as maximum_volume_size.
 */
class ThinPoolTest {

  static final long MIB = 1 << 20;

  @TempDir Path dir;
  ControllerFixture f;

  @AfterEach
  void stop() throws InterruptedException {
    if (f != null) {
      f.close();
    }
  }

  private Csi.GetCapacityResponse capacity(Map<String, String> params) {
    return f.controller.getCapacity(Csi.GetCapacityRequest.newBuilder()
        .putAllParameters(params).build());
  }

  @Test
  void theOvercommitRatioBoundsWhatVolumesPromise() throws Exception {
    f = new ControllerFixture(dir, Map.of(), ControllerConfig.defaults()
        .withLimits(new PoolLimits(1, 0)), ClusterObjects.NONE);
    long total = f.engine.client().capacity().getTotalBytes();
    long half = total / 2 / MIB * MIB;
    f.controller.createVolume(createRequest("pvc-half", half).build());
    PoolCapacity pool = f.engine.client().capacity();
    assertThat(pool.getProvisionedBytes()).isEqualTo(half);
    assertThat(capacity(Map.of()).getAvailableCapacity()).isEqualTo(total - half);
    assertThat(capacity(Map.of("provisioning", "thick")).getAvailableCapacity())
        .isLessThanOrEqualTo(total - half);
    // a class may take less of the pool, never more
    assertThat(capacity(Map.of("overcommitRatio", "0.75")).getAvailableCapacity())
        .isEqualTo((long) (total * 0.75) - half);
    assertCode(() -> capacity(Map.of("overcommitRatio", "2")), Code.INVALID_ARGUMENT);

    long tooMuch = total - half + MIB;
    StatusRuntimeException e = Assertions.catchThrowableOfType(StatusRuntimeException.class,
        () -> f.controller.createVolume(createRequest("pvc-more", tooMuch).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("pvc-more", "overcommit ratio 1.0",
        "promise " + half);
    assertCode(() -> f.controller.createVolume(createRequest("pvc-class", MIB)
        .putParameters("overcommitRatio", "0.25").build()), Code.RESOURCE_EXHAUSTED);
    assertThat(f.engine.client().listTargets(Map.of())).hasSize(1);
    f.controller.createVolume(createRequest("pvc-fits", MIB).build());
  }

  @Test
  void aVolumeAboveTheLargestAllowedIsOutOfRange() throws Exception {
    f = new ControllerFixture(dir, Map.of(), ControllerConfig.defaults()
        .withLimits(new PoolLimits(0, 8 * MIB)), ClusterObjects.NONE);
    StatusRuntimeException e = Assertions.catchThrowableOfType(StatusRuntimeException.class,
        () -> f.controller.createVolume(createRequest("pvc-big", 16 * MIB).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.OUT_OF_RANGE);
    assertThat(e.getStatus().getDescription()).contains(Long.toString(16 * MIB),
        Long.toString(8 * MIB), "--max-volume-size");
    assertCode(() -> f.controller.createVolume(createRequest("pvc-class", 6 * MIB)
        .putParameters("maxVolumeSize", "4Mi").build()), Code.OUT_OF_RANGE);
    assertCode(() -> f.controller.createVolume(createRequest("pvc-raise", MIB)
        .putParameters("maxVolumeSize", "16Mi").build()), Code.INVALID_ARGUMENT);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
    f.controller.createVolume(createRequest("pvc-ok", 8 * MIB).build());
    assertThat(capacity(Map.of()).getMaximumVolumeSize().getValue()).isEqualTo(8 * MIB);
    assertThat(capacity(Map.of("maxVolumeSize", "4Mi")).getMaximumVolumeSize().getValue())
        .isEqualTo(4 * MIB);
  }

  private Csi.ControllerExpandVolumeResponse expand(String volumeId, long bytes) {
    return f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setCapacityRange(Csi.CapacityRange.newBuilder()
            .setRequiredBytes(bytes)).build());
  }

  /**
   * Growing past the largest volume is OUT_OF_RANGE, a final code (Kubernetes lets the user lower
   * the request), naming the limit; the volume keeps its size and a smaller request succeeds.
   */
  @Test
  void expansionPastTheLargestVolumeIsOutOfRange() throws Exception {
    f = new ControllerFixture(dir, Map.of(), ControllerConfig.defaults()
        .withLimits(new PoolLimits(0, 64 * MIB)), ClusterObjects.NONE);
    String id = f.controller.createVolume(createRequest("pvc-grow", 8 * MIB).build())
        .getVolume().getVolumeId();
    StatusRuntimeException big = Assertions.catchThrowableOfType(StatusRuntimeException.class,
        () -> expand(id, 128 * MIB));
    assertThat(big.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.OUT_OF_RANGE);
    assertThat(big.getStatus().getDescription()).contains(Long.toString(64 * MIB),
        "--max-volume-size");
    assertThat(size(id)).isEqualTo(8 * MIB);
    assertThat(expand(id, 64 * MIB).getCapacityBytes()).isEqualTo(64 * MIB);
  }

  /**
   * Growing past what the overcommit ratio leaves is RESOURCE_EXHAUSTED, a final code, naming the
   * ratio; the volume keeps its size and a growth that fits succeeds.
   */
  @Test
  void expansionPastThePoolIsResourceExhausted() throws Exception {
    f = new ControllerFixture(dir, Map.of(), ControllerConfig.defaults()
        .withLimits(new PoolLimits(1, 0)), ClusterObjects.NONE);
    String id = f.controller.createVolume(createRequest("pvc-grow", 8 * MIB).build())
        .getVolume().getVolumeId();
    long total = f.engine.client().capacity().getTotalBytes();
    f.controller.createVolume(createRequest("pvc-filler", (total - 40 * MIB) / MIB * MIB)
        .build());
    StatusRuntimeException full = Assertions.catchThrowableOfType(StatusRuntimeException.class,
        () -> expand(id, 64 * MIB));
    assertThat(full.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(full.getStatus().getDescription()).contains("growing volume " + id,
        "does not fit", "overcommit ratio 1.0");
    assertThat(size(id)).isEqualTo(8 * MIB);
    assertThat(expand(id, 16 * MIB).getCapacityBytes()).isEqualTo(16 * MIB);
  }

  private long size(String volumeId) {
    return f.engine.client().findTarget(f.config.iqnPrefix() + ":" + volumeId).orElseThrow()
        .getLuns(0).getSizeBytes();
  }
}
