package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.block;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read-side and resize RPCs: ValidateVolumeCapabilities (confirmed or a reason),
 * ListVolumes (paging tokens, published nodes), ControllerGetVolume (condition abnormal when the
 * backing file is gone), GetCapacity (the pool's free bytes), ControllerGetCapabilities and
 * ControllerExpandVolume (online growth, node expansion for filesystems, never shrinking).
 */
class VolumeQueriesTest {

  @TempDir Path dir;
  ControllerFixture f;

  @BeforeEach
  void start() throws IOException {
    f = new ControllerFixture(dir);
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
  }

  @Test
  void validateConfirmsSupportedCapabilitiesOnly() {
    Csi.Volume v = f.create("val", 1 << 20);
    Csi.ValidateVolumeCapabilitiesResponse ok = f.controller.validateVolumeCapabilities(
        Csi.ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(v.getVolumeId())
            .addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER))
            .addVolumeCapabilities(block(Mode.MULTI_NODE_READER_ONLY)).build());
    assertThat(ok.hasConfirmed()).isTrue();
    assertThat(ok.getConfirmed().getVolumeCapabilitiesList()).hasSize(2);

    Csi.ValidateVolumeCapabilitiesResponse no = f.controller.validateVolumeCapabilities(
        Csi.ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(v.getVolumeId())
            .addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER)).build());
    assertThat(no.hasConfirmed()).isFalse();
    assertThat(no.getMessage()).contains("multiNodeMultiWriter");

    assertCode(() -> f.controller.validateVolumeCapabilities(
        Csi.ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(v.getVolumeId())
            .build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.validateVolumeCapabilities(
        Csi.ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId("local.nope")
            .addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER)).build()), Code.NOT_FOUND);
  }

  @Test
  void listVolumesPagesAndShowsPublishedNodes() {
    for (int i = 0; i < 5; i++) {
      f.create("v" + i, 1 << 20);
    }
    f.publish("local.v2", NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);

    Csi.ListVolumesResponse p1 = f.controller.listVolumes(
        Csi.ListVolumesRequest.newBuilder().setMaxEntries(2).build());
    Csi.ListVolumesResponse p2 = f.controller.listVolumes(Csi.ListVolumesRequest.newBuilder()
        .setMaxEntries(2).setStartingToken(p1.getNextToken()).build());
    Csi.ListVolumesResponse p3 = f.controller.listVolumes(Csi.ListVolumesRequest.newBuilder()
        .setStartingToken(p2.getNextToken()).build());
    List<String> ids = java.util.stream.Stream.of(p1, p2, p3)
        .flatMap(r -> r.getEntriesList().stream()).map(e -> e.getVolume().getVolumeId())
        .toList();
    assertThat(ids).containsExactly("local.v0", "local.v1", "local.v2", "local.v3", "local.v4");
    assertThat(p3.getNextToken()).isEmpty();
    assertThat(p2.getEntries(0).getStatus().getPublishedNodeIdsList()).containsExactly(NODE_A);
    assertCode(() -> f.controller.listVolumes(Csi.ListVolumesRequest.newBuilder()
        .setStartingToken("99").build()), Code.ABORTED);
  }

  @Test
  void getVolumeReportsAMissingBackingFileAsAbnormal() throws IOException {
    Csi.Volume v = f.create("cond", 1 << 20);
    Csi.ControllerGetVolumeResponse healthy = f.controller.controllerGetVolume(
        Csi.ControllerGetVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build());
    assertThat(healthy.getStatus().getVolumeCondition().getAbnormal()).isFalse();
    assertThat(healthy.getVolume()).isEqualTo(v);

    String file = f.engine.client().findTarget(f.config.iqnPrefix() + ":" + v.getVolumeId())
        .orElseThrow().getLuns(0).getPath();
    Files.delete(Path.of(file));
    Csi.ControllerGetVolumeResponse sick = f.controller.controllerGetVolume(
        Csi.ControllerGetVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build());
    assertThat(sick.getStatus().getVolumeCondition().getAbnormal()).isTrue();
    assertThat(sick.getStatus().getVolumeCondition().getMessage()).contains(file);
    // ListVolumes, which external-health-monitor-controller polls, says the same.
    assertThat(f.controller.listVolumes(Csi.ListVolumesRequest.getDefaultInstance())
        .getEntriesList()).singleElement().satisfies(e -> assertThat(e.getStatus()
            .getVolumeCondition()).isEqualTo(sick.getStatus().getVolumeCondition()));

    assertCode(() -> f.controller.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId("local.nope").build()), Code.NOT_FOUND);
  }

  @Test
  void capacityIsThePoolsFreeSpace() {
    long free = f.engine.client().capacity().getAvailableBytes();
    Csi.GetCapacityResponse r = f.controller.getCapacity(Csi.GetCapacityRequest.newBuilder()
        .addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER)).build());
    assertThat(r.getAvailableCapacity()).isPositive()
        .isBetween(free - (64L << 20), free + (64L << 20));
    assertThat(f.controller.getCapacity(Csi.GetCapacityRequest.newBuilder()
        .addVolumeCapabilities(mount(Mode.MULTI_NODE_MULTI_WRITER)).build())
        .getAvailableCapacity()).isZero();
    assertCode(() -> f.controller.getCapacity(Csi.GetCapacityRequest.newBuilder()
        .putParameters("bogus", "1").build()), Code.INVALID_ARGUMENT);
  }

  @Test
  void capabilitiesListWhatIsImplemented() {
    assertThat(f.controller.controllerGetCapabilities(
        Csi.ControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList())
        .extracting(c -> c.getRpc().getType())
        .containsExactlyElementsOf(ControllerService.CAPABILITIES);
  }

  @Test
  void expandGrowsOnlineAndAsksNodesToGrowFilesystems() {
    Csi.Volume v = f.create("grow", 1 << 20);
    Csi.ControllerExpandVolumeResponse r = f.controller.controllerExpandVolume(
        Csi.ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
            .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(3_000_000))
            .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build());
    assertThat(r.getCapacityBytes()).isEqualTo(3_000_320);
    assertThat(r.getNodeExpansionRequired()).isTrue();
    assertThat(f.engine.client().findTarget(f.config.iqnPrefix() + ":" + v.getVolumeId())
        .orElseThrow().getLuns(0).getSizeBytes()).isEqualTo(3_000_320);

    Csi.ControllerExpandVolumeResponse noShrink = f.controller.controllerExpandVolume(
        Csi.ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
            .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1 << 20))
            .setVolumeCapability(block(Mode.SINGLE_NODE_WRITER)).build());
    assertThat(noShrink.getCapacityBytes()).isEqualTo(3_000_320);
    assertThat(noShrink.getNodeExpansionRequired()).isFalse();

    assertCode(() -> f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest
        .newBuilder().setVolumeId(v.getVolumeId()).build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest
        .newBuilder().setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1))
        .build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest
        .newBuilder().setVolumeId("local.nope")
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1 << 21)).build()),
        Code.NOT_FOUND);
    assertCode(() -> f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest
        .newBuilder().setVolumeId(v.getVolumeId())
        .setCapacityRange(Csi.CapacityRange.newBuilder().setLimitBytes(1 << 20)).build()),
        Code.OUT_OF_RANGE);
  }
}
