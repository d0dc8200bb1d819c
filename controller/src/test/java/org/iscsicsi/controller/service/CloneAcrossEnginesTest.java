package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.nio.file.Path;
import java.util.Map;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.Lun;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clones and restores across engines in pool mode, the CSI Controller service over two real
 * engines with replication ports (mutual TLS from a test CA) behind {@link TestPool}: when the
 * source's engine takes no new volumes, CreateVolume places the clone (or the restored snapshot)
 * on another engine and returns only once the bytes are there; the copy reads the same as its
 * source, gets its own NAA, and the clone's temporary snapshot is gone from the source engine.
 */
class CloneAcrossEnginesTest {

  private static final long MIB = 1 << 20;

  @TempDir Path dir;
  private ReplicatingPool fixture;
  private TestPool pool;
  private ControllerService service;
  private ControllerGrpc.ControllerBlockingStub csi;

  @BeforeEach
  void start() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    fixture = new ReplicatingPool(dir);
    pool = fixture.pool;
    service = fixture.service;
    csi = fixture.csi;
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (fixture != null) {
      fixture.close();
    }
  }

  /** The clone of a volume on a cordoned engine lands on the other one, byte for byte. */
  @Test
  void aCloneGoesToAnotherEngineWhenTheSourcesTakesNoNewVolumes() throws Exception {
    Csi.Volume source = csi.createVolume(createRequest("pvc-src", 16 * MIB).build())
        .getVolume();
    assertThat(holder(source.getVolumeId())).isEqualTo("e1");
    Lun sourceLun = fixture.lun("e1", source.getVolumeId());
    ReplicatingPool.write(Path.of(sourceLun.getPath()), 0, 9 * MIB + 512);
    pool.status("e1", EngineState.CORDONED, "cordoned by the test");

    Csi.Volume clone = csi.createVolume(createRequest("pvc-clone", 16 * MIB)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
            Csi.VolumeContentSource.VolumeSource.newBuilder()
                .setVolumeId(source.getVolumeId()))).build()).getVolume();

    assertThat(holder(clone.getVolumeId())).isEqualTo("e2");
    assertThat(clone.getContentSource().getVolume().getVolumeId())
        .isEqualTo(source.getVolumeId());
    Lun cloned = fixture.lun("e2", clone.getVolumeId());
    assertThat(cloned.getNaa()).isNotEqualTo(sourceLun.getNaa());
    assertThat(ReplicatingPool.sha256(Path.of(cloned.getPath())))
        .isEqualTo(ReplicatingPool.sha256(Path.of(sourceLun.getPath())));
    assertThat(pool.get("e1").client().listSnapshots(ListSnapshotsRequest.getDefaultInstance()))
        .as("the clone's temporary snapshot is deleted").isEmpty();
    // a retry is the same volume
    assertThat(csi.createVolume(createRequest("pvc-clone", 16 * MIB)
        .setVolumeContentSource(clone.getContentSource()).build()).getVolume().getVolumeId())
        .isEqualTo(clone.getVolumeId());
  }

  /** A snapshot of a volume on a cordoned engine is restored on the other one. */
  @Test
  void aRestoreGoesToAnotherEngine() throws Exception {
    Csi.Volume source = csi.createVolume(createRequest("pvc-src", 8 * MIB).build())
        .getVolume();
    Lun sourceLun = fixture.lun("e1", source.getVolumeId());
    ReplicatingPool.write(Path.of(sourceLun.getPath()), 4 * MIB, 2 * MIB);
    String before = ReplicatingPool.sha256(Path.of(sourceLun.getPath()));
    Csi.Snapshot snap = csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("snap-1").setSourceVolumeId(source.getVolumeId()).build()).getSnapshot();
    // after the snapshot: not in the restore
    ReplicatingPool.write(Path.of(sourceLun.getPath()), 0, MIB);
    pool.status("e1", EngineState.CORDONED, "cordoned by the test");

    Csi.Volume restored = csi.createVolume(createRequest("pvc-restored", 8 * MIB)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
            Csi.VolumeContentSource.SnapshotSource.newBuilder()
                .setSnapshotId(snap.getSnapshotId()))).build()).getVolume();

    assertThat(holder(restored.getVolumeId())).isEqualTo("e2");
    assertThat(ReplicatingPool.sha256(Path.of(fixture.lun("e2", restored.getVolumeId()).getPath())))
        .isEqualTo(before);
  }

  private String holder(String volumeId) {
    for (String e : new String[] {"e1", "e2"}) {
      if (pool.engine(e).registry().listTargets(Map.of()).stream()
          .anyMatch(t -> t.name().endsWith(":" + volumeId))) {
        return e;
      }
    }
    return "";
  }
}
