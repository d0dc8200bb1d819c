package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.testing.Exec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SnapshotMetadata service (changed-block tracking) end to end on the embedded engine: qemu-io
 * writes known ranges through a real iSCSI login between two snapshots, and the service answers
 * exactly those ranges (allocated ranges of each snapshot, the delta between them), across
 * several messages when max_results is small, with the spec's codes for bad requests.
 */
class SnapshotMetadataTest {

  /** qemu's default initiator name: qemu-io takes another only through --image-opts. */
  static final String QEMU_INITIATOR = "iqn.2008-11.org.linux-kvm";
  static final int MB = 1 << 20;

  @TempDir Path dir;
  ControllerFixture f;
  Csi.Volume vol;
  String url;

  @BeforeEach
  void start() throws IOException {
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils, qemu-block-extra)").isTrue();
    f = new ControllerFixture(dir);
    vol = f.controller.createVolume(ControllerFixture.createRequest("cbt", 16 * MB)
        .putParameters("chap", "false").build()).getVolume();
    Csi.ControllerPublishVolumeResponse p = f.publish(vol.getVolumeId(), QEMU_INITIATOR,
        mount(Mode.SINGLE_NODE_WRITER), false);
    url = Libiscsi.url(p);
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (f != null) {
      f.close();
    }
  }

  /** Writes {@code length} bytes of {@code pattern} at {@code offset} with qemu-io over iSCSI. */
  private void write(long offset, long length, int pattern) throws Exception {
    Libiscsi.Result r = Libiscsi.run(Map.of(), "qemu-io", "-f", "raw", "-c",
        "write -P " + pattern + " " + offset + " " + length, url);
    assertThat(r.exit()).as(r.output()).isZero();
  }

  private Csi.Snapshot snap(String name) {
    return f.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder().setName(name)
        .setSourceVolumeId(vol.getVolumeId()).build()).getSnapshot();
  }

  private static List<String> ranges(List<Csi.BlockMetadata> blocks) {
    return blocks.stream().map(b -> b.getByteOffset() + "+" + b.getSizeBytes()).toList();
  }

  private List<Csi.GetMetadataAllocatedResponse> allocated(String id, int max) {
    List<Csi.GetMetadataAllocatedResponse> out = new ArrayList<>();
    f.snapshotMetadata.getMetadataAllocated(Csi.GetMetadataAllocatedRequest.newBuilder()
        .setSnapshotId(id).setMaxResults(max).build()).forEachRemaining(out::add);
    return out;
  }

  private List<Csi.GetMetadataDeltaResponse> delta(String base, String target, long start,
      int max) {
    List<Csi.GetMetadataDeltaResponse> out = new ArrayList<>();
    f.snapshotMetadata.getMetadataDelta(Csi.GetMetadataDeltaRequest.newBuilder()
        .setBaseSnapshotId(base).setTargetSnapshotId(target).setStartingOffset(start)
        .setMaxResults(max).build()).forEachRemaining(out::add);
    return out;
  }

  @Test
  void theServiceIsAdvertised() {
    assertThat(f.identity.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest
        .getDefaultInstance()).getCapabilitiesList())
        .anyMatch(c -> c.getService().getType()
            == Csi.PluginCapability.Service.Type.SNAPSHOT_METADATA_SERVICE);
  }

  @Test
  void allocatedAndChangedRangesAreExactlyTheWrittenOnes() throws Exception {
    write(0, 64 * 1024, 0x11);
    write(4 * MB, 4096, 0x22);
    Csi.Snapshot first = snap("first");
    write(4096, 512, 0x33);        // inside the first range: one block changes
    write(4 * MB, 4096, 0x22);     // the same bytes again: no change
    write(9 * MB, 8192, 0x44);     // where the first snapshot had a hole
    Csi.Snapshot second = snap("second");

    List<Csi.GetMetadataAllocatedResponse> a = allocated(first.getSnapshotId(), 0);
    assertThat(a).hasSize(1);
    assertThat(a.getFirst().getBlockMetadataType())
        .isEqualTo(Csi.BlockMetadataType.VARIABLE_LENGTH);
    assertThat(a.getFirst().getVolumeCapacityBytes()).isEqualTo(16 * MB);
    assertThat(ranges(a.getFirst().getBlockMetadataList()))
        .containsExactly("0+65536", 4 * MB + "+4096");

    List<Csi.GetMetadataDeltaResponse> d = delta(first.getSnapshotId(),
        second.getSnapshotId(), 0, 0);
    assertThat(d).hasSize(1);
    assertThat(ranges(d.getFirst().getBlockMetadataList()))
        .containsExactly("4096+512", 9 * MB + "+8192");

    // max_results 1: one range per message, the stream goes on to the end.
    List<Csi.GetMetadataAllocatedResponse> paged = allocated(second.getSnapshotId(), 1);
    assertThat(paged).allSatisfy(r -> assertThat(r.getBlockMetadataCount()).isEqualTo(1));
    assertThat(paged.stream().flatMap(r -> ranges(r.getBlockMetadataList()).stream()))
        .containsExactly("0+65536", 4 * MB + "+4096", 9 * MB + "+8192");
    assertThat(delta(first.getSnapshotId(), second.getSnapshotId(), 8 * MB, 1).stream()
        .flatMap(r -> ranges(r.getBlockMetadataList()).stream()))
        .containsExactly(9 * MB + "+8192");

    // Nothing changed between a snapshot and itself: one message, with the size, no ranges.
    List<Csi.GetMetadataDeltaResponse> none = delta(second.getSnapshotId(),
        second.getSnapshotId(), 0, 0);
    assertThat(none).hasSize(1);
    assertThat(none.getFirst().getBlockMetadataList()).isEmpty();
    assertThat(none.getFirst().getVolumeCapacityBytes()).isEqualTo(16 * MB);
  }

  @Test
  void badRequestsGetTheSpecsCodes() throws Exception {
    Csi.Snapshot s = snap("s");
    Csi.Volume other = f.create("other", 8 * MB);
    Csi.Snapshot o = f.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("o").setSourceVolumeId(other.getVolumeId()).build()).getSnapshot();
    assertCode(() -> allocated("", 0), Code.INVALID_ARGUMENT);
    assertCode(() -> allocated("local.none", 0), Code.NOT_FOUND);
    assertCode(() -> allocated(s.getSnapshotId(), -1), Code.INVALID_ARGUMENT);
    assertCode(() -> delta("", s.getSnapshotId(), 0, 0), Code.INVALID_ARGUMENT);
    assertCode(() -> delta(s.getSnapshotId(), "", 0, 0), Code.INVALID_ARGUMENT);
    assertCode(() -> delta("local.none", s.getSnapshotId(), 0, 0), Code.NOT_FOUND);
    assertCode(() -> delta(o.getSnapshotId(), s.getSnapshotId(), 0, 0), Code.INVALID_ARGUMENT);
    assertCode(() -> delta(s.getSnapshotId(), s.getSnapshotId(), 16 * MB, 0), Code.OUT_OF_RANGE);
    assertCode(() -> delta(s.getSnapshotId(), s.getSnapshotId(), -1, 0), Code.OUT_OF_RANGE);
  }
}
