package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.block;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreateVolume and DeleteVolume against the real embedded engine: each volume is one target
 * (IQN from the volume id) with LUN 0 and no grant, CSI metadata in its labels; idempotency by
 * name, ALREADY_EXISTS for incompatible repeats, capacity rounding, parameter validation and the
 * error codes of the CSI spec; nothing left behind by a failed create; ABORTED for concurrent
 * calls on one volume.
 */
class CreateDeleteVolumeTest {

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

  private Target target(String volumeId) {
    return f.engine.client().findTarget(f.config.iqnPrefix() + ":" + volumeId).orElseThrow();
  }

  @Test
  void aVolumeIsATargetWithLunZeroAndNoGrant() {
    Csi.Volume v = f.create("pvc-1234", 10L << 20);

    assertThat(v.getVolumeId()).isEqualTo("local.pvc-1234");
    assertThat(v.getCapacityBytes()).isEqualTo(10L << 20);
    Target t = target(v.getVolumeId());
    assertThat(t.getName()).isEqualTo("iqn.2026-11.org.iscsicsi:local.pvc-1234");
    assertThat(t.getLunsList()).singleElement().satisfies(l -> {
      assertThat(l.getLun()).isZero();
      assertThat(l.getSizeBytes()).isEqualTo(10L << 20);
      assertThat(l.getThin()).isTrue();
    });
    assertThat(t.getGrantsList()).isEmpty();
    assertThat(t.getLabelsMap()).containsEntry("csi.iscsicsi.org/name", "pvc-1234")
        .containsEntry("csi.iscsicsi.org/managed-by", "iscsi.csi.iscsicsi.org");
  }

  @Test
  void namesThatAreNotDnsLabelsAreHashed() {
    String name = "Sanity Volume/" + "x".repeat(120);
    Csi.Volume v = f.create(name, 1 << 20);
    assertThat(v.getVolumeId()).matches("local\\.h-[0-9a-f]{24}");
    assertThat(f.create(name, 1 << 20).getVolumeId()).isEqualTo(v.getVolumeId());
  }

  @Test
  void namesWithWhitespaceControlCharactersAreAccepted() {
    Csi.Volume v = f.create("tab\tand\nnewline", 1 << 20);
    assertThat(target(v.getVolumeId()).getAlias()).isEqualTo("tab_and_newline");
    assertThat(target(v.getVolumeId()).getLabelsMap())
        .containsEntry("csi.iscsicsi.org/name", "tab\tand\nnewline");
  }

  @Test
  void capacityIsRoundedUpToTheBlockSize() {
    assertThat(f.create("odd", 1000).getCapacityBytes()).isEqualTo(1024);
    Csi.Volume big = f.controller.createVolume(createRequest("odd4k", 5000)
        .putParameters("blockSize", "4096").build()).getVolume();
    assertThat(big.getCapacityBytes()).isEqualTo(8192);
    assertThat(target(big.getVolumeId()).getLuns(0).getBlockSize()).isEqualTo(4096);
    Csi.Volume dflt = f.controller.createVolume(createRequest("dflt", 0)
        .clearCapacityRange().build()).getVolume();
    assertThat(dflt.getCapacityBytes()).isEqualTo(1L << 30);
  }

  @Test
  void capacityThatCannotBeHonouredIsOutOfRange() {
    assertCode(() -> f.controller.createVolume(createRequest("tiny", 0).setCapacityRange(
        Csi.CapacityRange.newBuilder().setRequiredBytes(100).setLimitBytes(200)).build()),
        Code.OUT_OF_RANGE);
    assertCode(() -> f.controller.createVolume(createRequest("inverted", 0).setCapacityRange(
        Csi.CapacityRange.newBuilder().setRequiredBytes(4096).setLimitBytes(1024)).build()),
        Code.INVALID_ARGUMENT);
  }

  @Test
  void sameNameAndCompatibleRequestReturnsTheSameVolume() {
    Csi.Volume first = f.create("again", 1 << 20);
    Csi.Volume second = f.create("again", 1 << 20);
    assertThat(second).isEqualTo(first);
    assertThat(f.engine.client().listTargets(Map.of())).hasSize(1);
  }

  @Test
  void sameNameWithAnotherSizeOrParametersIsAlreadyExists() {
    f.create("taken", 1 << 20);
    assertCode(() -> f.create("taken", 2 << 20), Code.ALREADY_EXISTS);
    assertCode(() -> f.controller.createVolume(createRequest("taken", 1 << 20)
        .putParameters("provisioning", "thick").build()), Code.ALREADY_EXISTS);
  }

  @Test
  void missingNameOrCapabilitiesIsInvalidArgument() {
    assertCode(() -> f.controller.createVolume(createRequest("", 1 << 20).build()),
        Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.createVolume(createRequest("nocaps", 1 << 20)
        .clearVolumeCapabilities().build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.createVolume(createRequest("nomode", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(Csi.VolumeCapability.newBuilder()
            .setMount(Csi.VolumeCapability.MountVolume.getDefaultInstance())).build()),
        Code.INVALID_ARGUMENT);
  }

  @Test
  void unknownOrBadParametersAreInvalidArgument() {
    for (Map<String, String> bad : List.of(Map.of("colour", "blue"), Map.of("fsType", "btrfs"),
        Map.of("provisioning", "fat"), Map.of("chap", "maybe"), Map.of("portals", "nohost"),
        Map.of("blockSize", "1024"))) {
      assertCode(() -> f.controller.createVolume(createRequest("bad", 1 << 20)
          .putAllParameters(bad).build()), Code.INVALID_ARGUMENT);
    }
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
  }

  @Test
  void provisionerKeysAreAcceptedAndPvcNamesKept() {
    Csi.Volume v = f.controller.createVolume(createRequest("pvc-k8s", 1 << 20)
        .putParameters("csi.storage.k8s.io/pvc/name", "data")
        .putParameters("csi.storage.k8s.io/pvc/namespace", "apps")
        .putParameters("csi.storage.k8s.io/fstype", "xfs")
        .putParameters("fsType", "xfs").build()).getVolume();
    Target t = target(v.getVolumeId());
    assertThat(t.getAlias()).isEqualTo("data");
    assertThat(t.getLabelsMap()).containsEntry("csi.iscsicsi.org/k8s.pvc.namespace", "apps");
    assertThat(v.getVolumeContextMap()).containsEntry("fsType", "xfs");
  }

  @Test
  void multiNodeMultiWriterOnlyForBlockWithTheParameter() {
    assertCode(() -> f.controller.createVolume(createRequest("mnmw", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(mount(Mode.MULTI_NODE_MULTI_WRITER))
        .putParameters("multiNodeMultiWriter", "true").build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.createVolume(createRequest("mnmw", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER))
        .build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.createVolume(createRequest("mnsw", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(block(Mode.MULTI_NODE_SINGLE_WRITER))
        .build()), Code.INVALID_ARGUMENT);
    Csi.Volume ok = f.controller.createVolume(createRequest("mnmw", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER))
        .putParameters("multiNodeMultiWriter", "true").build()).getVolume();
    assertThat(ok.getVolumeId()).isEqualTo("local.mnmw");
  }

  @Test
  void everySupportedModeIsAcceptedInMountAndBlock() {
    int i = 0;
    for (Mode m : List.of(Mode.SINGLE_NODE_WRITER, Mode.SINGLE_NODE_SINGLE_WRITER,
        Mode.SINGLE_NODE_MULTI_WRITER, Mode.MULTI_NODE_READER_ONLY)) {
      for (Csi.VolumeCapability cap : List.of(mount(m), block(m))) {
        f.controller.createVolume(createRequest("mode-" + i++, 1 << 20).clearVolumeCapabilities()
            .addVolumeCapabilities(cap).build());
      }
    }
    assertThat(f.engine.client().listTargets(Map.of())).hasSize(8);
  }

  @Test
  void missingContentSourcesAreNotFound() {
    assertCode(() -> f.controller.createVolume(createRequest("fromsnap", 1 << 20)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
            Csi.VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("local.nope")))
        .build()), Code.NOT_FOUND);
    assertCode(() -> f.controller.createVolume(createRequest("fromvol", 1 << 20)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
            Csi.VolumeContentSource.VolumeSource.newBuilder().setVolumeId("garbage")))
        .build()), Code.NOT_FOUND);
  }

  @Test
  void aCloneIsAtLeastAsLargeAsItsSourceAndRecordsIt() {
    Csi.Volume src = f.create("src", 2 << 20);
    Csi.Volume clone = f.controller.createVolume(createRequest("clone", 1 << 20)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
            Csi.VolumeContentSource.VolumeSource.newBuilder().setVolumeId(src.getVolumeId())))
        .build()).getVolume();
    assertThat(clone.getCapacityBytes()).isEqualTo(2 << 20);
    assertThat(clone.getContentSource().getVolume().getVolumeId()).isEqualTo("local.src");
    assertCode(() -> f.controller.createVolume(createRequest("clone2", 1 << 20)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setLimitBytes(1 << 20))
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
            Csi.VolumeContentSource.VolumeSource.newBuilder().setVolumeId(src.getVolumeId())))
        .build()), Code.OUT_OF_RANGE);
  }

  @Test
  void aFullPoolIsResourceExhaustedAndLeavesNothing() throws IOException {
    assertCode(() -> f.controller.createVolume(createRequest("huge", 1L << 50)
        .putParameters("provisioning", "thick").build()), Code.RESOURCE_EXHAUSTED);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
    assertThat(lunFiles()).isEmpty();
  }

  @Test
  void aTargetLeftWithoutLunByACrashIsRebuiltByTheNextCreate() {
    String iqn = f.config.iqnPrefix() + ":local.half";
    f.engine.client().createTarget(iqn, "half", Map.of("csi.iscsicsi.org/managed-by",
        f.config.driverName(), "csi.iscsicsi.org/name", "half"));
    Csi.Volume v = f.create("half", 1 << 20);
    assertThat(v.getVolumeId()).isEqualTo("local.half");
    assertThat(target("local.half").getLunsCount()).isEqualTo(1);
  }

  @Test
  void deleteRemovesTargetAndFileAndIsIdempotent() throws IOException {
    Csi.Volume v = f.create("gone", 1 << 20);
    assertThat(lunFiles()).hasSize(1);
    Csi.DeleteVolumeRequest del = Csi.DeleteVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).build();
    f.controller.deleteVolume(del);
    f.controller.deleteVolume(del);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
    assertThat(lunFiles()).isEmpty();
    f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId("fake-vol-id")
        .build());
    assertCode(() -> f.controller.deleteVolume(Csi.DeleteVolumeRequest.getDefaultInstance()),
        Code.INVALID_ARGUMENT);
  }

  @Test
  void concurrentCreatesOfOneNameMakeOneVolumeOrAbort() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        results.add(pool.submit(() -> {
          try {
            return f.create("race", 4 << 20).getVolumeId();
          } catch (StatusRuntimeException e) {
            return e.getStatus().getCode().name();
          }
        }));
      }
      List<String> outcomes = new ArrayList<>();
      for (Future<String> r : results) {
        outcomes.add(r.get());
      }
      assertThat(outcomes).contains("local.race").allMatch(
          o -> o.equals("local.race") || o.equals("ABORTED"));
      assertThat(f.engine.client().listTargets(Map.of())).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
  }

  private List<Path> lunFiles() throws IOException {
    Path luns = dir.resolve("luns");
    if (!Files.isDirectory(luns)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(luns)) {
      return s.toList();
    }
  }
}
