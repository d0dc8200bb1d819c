package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GroupController service on the embedded engine: advertised, a group snapshot of several
 * volumes whose members are ordinary snapshots carrying the group's id (listed, restorable),
 * idempotent by name and sources, ALREADY_EXISTS for the name on other sources, snapshot_ids that
 * do not match the group INVALID_ARGUMENT, deletion of every member, and the spec's codes for
 * missing and unknown ids. That the members are one instant is pinned in the engine
 * (SnapshotGroupTest); that members on several engines are refused, in PoolVolumesTest.
 */
class GroupSnapshotTest {

  @TempDir Path dir;
  ControllerFixture f;
  Csi.Volume a;
  Csi.Volume b;

  @BeforeEach
  void start() throws IOException {
    f = new ControllerFixture(dir);
    a = f.create("vol-a", 2 << 20);
    b = f.create("vol-b", 1 << 20);
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
  }

  private Csi.VolumeGroupSnapshot group(String name, String... sources) {
    return f.groups.createVolumeGroupSnapshot(Csi.CreateVolumeGroupSnapshotRequest.newBuilder()
        .setName(name).addAllSourceVolumeIds(List.of(sources)).build()).getGroupSnapshot();
  }

  private static List<String> ids(Csi.VolumeGroupSnapshot g) {
    return g.getSnapshotsList().stream().map(Csi.Snapshot::getSnapshotId).toList();
  }

  @Test
  void theServiceIsAdvertised() {
    assertThat(f.identity.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest
        .getDefaultInstance()).getCapabilitiesList())
        .anyMatch(c -> c.getService().getType()
            == Csi.PluginCapability.Service.Type.GROUP_CONTROLLER_SERVICE);
    assertThat(f.groups.groupControllerGetCapabilities(Csi.GroupControllerGetCapabilitiesRequest
        .getDefaultInstance()).getCapabilitiesList()).extracting(c -> c.getRpc().getType())
        .containsExactly(Csi.GroupControllerServiceCapability.RPC.Type
            .CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT);
  }

  @Test
  void aGroupsMembersAreSnapshotsOfEachSourceThatRestore() {
    Csi.VolumeGroupSnapshot g = group("groupsnapshot-1", a.getVolumeId(), b.getVolumeId());
    assertThat(g.getGroupSnapshotId()).isEqualTo("local.groupsnapshot-1");
    assertThat(g.getReadyToUse()).isTrue();
    assertThat(g.getCreationTime().getSeconds()).isPositive();
    assertThat(g.getSnapshotsList()).extracting(Csi.Snapshot::getSourceVolumeId)
        .containsExactlyInAnyOrder(a.getVolumeId(), b.getVolumeId());
    assertThat(g.getSnapshotsList()).allSatisfy(s -> {
      assertThat(s.getGroupSnapshotId()).isEqualTo(g.getGroupSnapshotId());
      assertThat(s.getReadyToUse()).isTrue();
    });
    assertThat(g.getSnapshotsList()).extracting(Csi.Snapshot::getSizeBytes)
        .containsExactlyInAnyOrder(2L << 20, 1L << 20);

    // Members are ordinary snapshots: listed with their group and restorable one by one.
    Csi.Snapshot member = g.getSnapshotsList().stream()
        .filter(s -> s.getSourceVolumeId().equals(a.getVolumeId())).findFirst().orElseThrow();
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.newBuilder()
        .setSnapshotId(member.getSnapshotId()).build()).getEntries(0).getSnapshot())
        .isEqualTo(member);
    Csi.Volume restored = f.controller.createVolume(createRequest("restored", 2 << 20)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
            Csi.VolumeContentSource.SnapshotSource.newBuilder()
                .setSnapshotId(member.getSnapshotId()))).build()).getVolume();
    assertThat(restored.getContentSource().getSnapshot().getSnapshotId())
        .isEqualTo(member.getSnapshotId());

    assertThat(f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(g.getGroupSnapshotId()).addAllSnapshotIds(ids(g)).build())
        .getGroupSnapshot()).isEqualTo(g);
  }

  @Test
  void createIsIdempotentByNameAndSources() {
    Csi.VolumeGroupSnapshot g = group("g", a.getVolumeId(), b.getVolumeId());
    assertThat(group("g", b.getVolumeId(), a.getVolumeId())).isEqualTo(g);
    assertCode(() -> group("g", a.getVolumeId()), Code.ALREADY_EXISTS);
    Csi.Volume c = f.create("vol-c", 1 << 20);
    assertCode(() -> group("g", a.getVolumeId(), c.getVolumeId()), Code.ALREADY_EXISTS);
    assertThat(group("other", a.getVolumeId()).getSnapshotsList()).hasSize(1);
  }

  @Test
  void deleteRemovesEveryMemberAndChecksTheGivenIds() {
    Csi.VolumeGroupSnapshot g = group("g", a.getVolumeId(), b.getVolumeId());
    Csi.VolumeGroupSnapshot other = group("other", a.getVolumeId());
    assertCode(() -> f.groups.deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest
        .newBuilder().setGroupSnapshotId(g.getGroupSnapshotId())
        .addSnapshotIds(ids(g).getFirst()).build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest
        .newBuilder().setGroupSnapshotId(g.getGroupSnapshotId()).addAllSnapshotIds(ids(g))
        .addSnapshotIds(ids(other).getFirst()).build()), Code.INVALID_ARGUMENT);

    f.groups.deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(g.getGroupSnapshotId()).addAllSnapshotIds(ids(g)).build());
    for (String id : ids(g)) {
      assertCode(() -> f.controller.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
          .setSnapshotId(id).build()), Code.NOT_FOUND);
    }
    assertCode(() -> f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest
        .newBuilder().setGroupSnapshotId(g.getGroupSnapshotId()).build()), Code.NOT_FOUND);
    // A second delete, of a group that is gone, succeeds; the other group is untouched.
    f.groups.deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(g.getGroupSnapshotId()).build());
    assertThat(f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(other.getGroupSnapshotId()).build()).getGroupSnapshot())
        .isEqualTo(other);
  }

  @Test
  void badRequestsGetTheSpecsCodes() {
    assertCode(() -> group("", a.getVolumeId()), Code.INVALID_ARGUMENT);
    assertCode(() -> group("g"), Code.INVALID_ARGUMENT);
    assertCode(() -> group("g", a.getVolumeId(), a.getVolumeId()), Code.INVALID_ARGUMENT);
    assertCode(() -> group("g", a.getVolumeId(), "local.missing"), Code.NOT_FOUND);
    assertCode(() -> f.groups.createVolumeGroupSnapshot(Csi.CreateVolumeGroupSnapshotRequest
        .newBuilder().setName("g").addSourceVolumeIds(a.getVolumeId())
        .putParameters("speed", "fast").build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest
        .getDefaultInstance()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.groups.getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest
        .newBuilder().setGroupSnapshotId("not-an-id").build()), Code.NOT_FOUND);
    assertCode(() -> f.groups.deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest
        .getDefaultInstance()), Code.INVALID_ARGUMENT);
    f.groups.deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId("not-an-id").build());
    assertThat(f.controller.listSnapshots(Csi.ListSnapshotsRequest.getDefaultInstance())
        .getEntriesList()).isEmpty();
  }
}
