package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreateSnapshot, DeleteSnapshot, ListSnapshots and GetSnapshot on engine snapshots: idempotent
 * by name and source, ALREADY_EXISTS for the name on another source, filters and paging tokens
 * of ListSnapshots, restore into a volume of equal or larger size (never smaller), snapshots
 * outliving their source volume.
 */
class SnapshotTest {

  @TempDir Path dir;
  ControllerFixture f;
  Csi.Volume vol;

  @BeforeEach
  void start() throws IOException {
    f = new ControllerFixture(dir);
    vol = f.create("source", 2 << 20);
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
  }

  private Csi.Snapshot snap(String name, String source) {
    return f.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder().setName(name)
        .setSourceVolumeId(source).build()).getSnapshot();
  }

  @Test
  void aSnapshotIsReadyAndIdempotentByNameAndSource() {
    Csi.Snapshot s = snap("snapshot-1", vol.getVolumeId());
    assertThat(s.getSnapshotId()).isEqualTo("local.snapshot-1");
    assertThat(s.getSourceVolumeId()).isEqualTo(vol.getVolumeId());
    assertThat(s.getSizeBytes()).isEqualTo(2 << 20);
    assertThat(s.getReadyToUse()).isTrue();
    assertThat(s.getCreationTime().getSeconds()).isPositive();
    assertThat(snap("snapshot-1", vol.getVolumeId())).isEqualTo(s);

    Csi.Volume other = f.create("other", 1 << 20);
    assertCode(() -> snap("snapshot-1", other.getVolumeId()), Code.ALREADY_EXISTS);
  }

  @Test
  void badRequestsGetTheSpecsCodes() {
    assertCode(() -> snap("", vol.getVolumeId()), Code.INVALID_ARGUMENT);
    assertCode(() -> snap("x", ""), Code.INVALID_ARGUMENT);
    assertCode(() -> snap("x", "local.missing"), Code.NOT_FOUND);
    assertCode(() -> f.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("x").setSourceVolumeId(vol.getVolumeId()).putParameters("speed", "fast")
        .build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.deleteSnapshot(Csi.DeleteSnapshotRequest.getDefaultInstance()),
        Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
        .setSnapshotId("local.none").build()), Code.NOT_FOUND);
  }

  @Test
  void listFiltersAndPages() {
    for (int i = 0; i < 5; i++) {
      snap("s" + i, vol.getVolumeId());
    }
    Csi.Volume other = f.create("other", 1 << 20);
    snap("t0", other.getVolumeId());

    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.getDefaultInstance())
        .getEntriesList()).hasSize(6);
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.newBuilder()
        .setSourceVolumeId(other.getVolumeId()).build()).getEntriesList())
        .extracting(e -> e.getSnapshot().getSnapshotId()).containsExactly("local.t0");
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.newBuilder()
        .setSnapshotId("local.s3").build()).getEntriesList()).hasSize(1);
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.newBuilder()
        .setSnapshotId("nonsense").build()).getEntriesList()).isEmpty();

    Csi.ListSnapshotsResponse page1 = f.controller.listSnapshots(
        Csi.ListSnapshotsRequest.newBuilder().setMaxEntries(4).build());
    assertThat(page1.getEntriesList()).hasSize(4);
    Csi.ListSnapshotsResponse page2 = f.controller.listSnapshots(
        Csi.ListSnapshotsRequest.newBuilder().setStartingToken(page1.getNextToken()).build());
    assertThat(page2.getEntriesList()).hasSize(2);
    assertThat(page2.getNextToken()).isEmpty();
    assertCode(() -> f.controller.listSnapshots(Csi.ListSnapshotsRequest.newBuilder()
        .setStartingToken("bogus").build()), Code.ABORTED);
  }

  @Test
  void restoresIntoEqualOrLargerVolumesOnly() {
    Csi.Snapshot s = snap("snap", vol.getVolumeId());
    Csi.VolumeContentSource src = Csi.VolumeContentSource.newBuilder().setSnapshot(
        Csi.VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(s.getSnapshotId()))
        .build();
    Csi.Volume same = f.controller.createVolume(createRequest("same", 2 << 20)
        .setVolumeContentSource(src).build()).getVolume();
    Csi.Volume larger = f.controller.createVolume(createRequest("larger", 8 << 20)
        .setVolumeContentSource(src).build()).getVolume();
    assertThat(same.getCapacityBytes()).isEqualTo(2 << 20);
    assertThat(larger.getCapacityBytes()).isEqualTo(8 << 20);
    assertThat(larger.getContentSource().getSnapshot().getSnapshotId())
        .isEqualTo(s.getSnapshotId());
    assertCode(() -> f.controller.createVolume(createRequest("smaller", 1 << 20)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1 << 20)
            .setLimitBytes(1 << 20)).setVolumeContentSource(src).build()), Code.OUT_OF_RANGE);
  }

  @Test
  void snapshotsOutliveTheirSourceAndDeleteIdempotently() {
    Csi.Snapshot s = snap("keep", vol.getVolumeId());
    f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder()
        .setVolumeId(vol.getVolumeId()).build());
    assertThat(f.controller.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
        .setSnapshotId(s.getSnapshotId()).build()).getSnapshot()).isEqualTo(s);
    Csi.DeleteSnapshotRequest del = Csi.DeleteSnapshotRequest.newBuilder()
        .setSnapshotId(s.getSnapshotId()).build();
    f.controller.deleteSnapshot(del);
    f.controller.deleteSnapshot(del);
    f.controller.deleteSnapshot(Csi.DeleteSnapshotRequest.newBuilder().setSnapshotId("junk")
        .build());
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.getDefaultInstance())
        .getEntriesList()).isEmpty();
  }
}
