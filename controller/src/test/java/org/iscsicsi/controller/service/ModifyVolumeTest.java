package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.block;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ControllerModifyVolume and mutable parameters against the real embedded engine: MODIFY_VOLUME is
 * advertised, CreateVolume applies its mutable parameters to the LUN, a modification changes only
 * the keys it names, unknown keys and bad values are INVALID_ARGUMENT and change nothing, a repeat
 * is idempotent (no engine write), and (with libiscsi's iscsi-perf as a live initiator) a change
 * takes hold on the logged-in session without detaching it.
 */
class ModifyVolumeTest {

  static final Map<String, String> GOLD = Map.of("qos.readIops", "2000", "qos.writeIops", "1000",
      "qos.readBytesPerSecond", "200Mi", "qos.writeBytesPerSecond", "100M",
      "qos.burstSeconds", "0.5");

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

  private Lun lun(String volumeId) {
    Target t = f.engine.client().findTarget(f.config.iqnPrefix() + ":" + volumeId).orElseThrow();
    return t.getLuns(0);
  }

  private void modify(String volumeId, Map<String, String> params) {
    f.controller.controllerModifyVolume(Csi.ControllerModifyVolumeRequest.newBuilder()
        .setVolumeId(volumeId).putAllMutableParameters(params).build());
  }

  /** Where the engine records every change (appended to; the snapshot beside it is rarer). */
  private Path stateFile() {
    return f.stateDir.resolve("journal");
  }

  /** The controller claims MODIFY_VOLUME, so Kubernetes sends VolumeAttributesClass changes. */
  @Test
  void advertisesModifyVolume() {
    assertThat(f.controller.controllerGetCapabilities(
        Csi.ControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList())
        .extracting(c -> c.getRpc().getType())
        .contains(Csi.ControllerServiceCapability.RPC.Type.MODIFY_VOLUME);
  }

  /** CreateVolume's mutable parameters become the LUN's limits; a volume without has none. */
  @Test
  void createVolumeAppliesMutableParameters() {
    String id = f.controller.createVolume(createRequest("pvc-gold", 8 << 20)
        .putAllMutableParams(GOLD).build()).getVolume().getVolumeId();
    assertThat(lun(id).getQos()).isEqualTo(LunQos.newBuilder().setReadIops(2000)
        .setWriteIops(1000).setReadBytesPerSecond(200L << 20).setWriteBytesPerSecond(100_000_000)
        .setBurstMillis(500).build());
    String plain = f.create("pvc-plain", 8 << 20).getVolumeId();
    assertThat(lun(plain).hasQos()).isFalse();
  }

  /** Unknown keys and bad values at creation are INVALID_ARGUMENT and leave no volume behind. */
  @Test
  void createVolumeRefusesBadMutableParameters() {
    assertThatThrownBy(() -> f.controller.createVolume(createRequest("pvc-bad", 8 << 20)
        .putMutableParams("XXX_FakeKey", "x").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Code.INVALID_ARGUMENT))
        .hasMessageContaining("unknown mutable parameter \"XXX_FakeKey\"")
        .hasMessageContaining("qos.readIops");
    assertCode(() -> f.controller.createVolume(createRequest("pvc-bad", 8 << 20)
        .putMutableParams("qos.writeIops", "lots").build()), Code.INVALID_ARGUMENT);
    assertThat(f.engine.client().findTarget(f.config.iqnPrefix() + ":local.pvc-bad")).isEmpty();
  }

  /** A modification replaces the named figures and keeps the others. */
  @Test
  void modifyChangesOnlyTheNamedKeys() {
    String id = f.controller.createVolume(createRequest("pvc-m", 8 << 20)
        .putAllMutableParams(GOLD).build()).getVolume().getVolumeId();
    modify(id, Map.of("qos.readIops", "300", "qos.writeBytesPerSecond", "0"));
    LunQos q = lun(id).getQos();
    assertThat(q.getReadIops()).isEqualTo(300);
    assertThat(q.getWriteBytesPerSecond()).isZero();
    assertThat(q.getWriteIops()).isEqualTo(1000);
    assertThat(q.getBurstMillis()).isEqualTo(500);
  }

  /** Unknown keys and values out of range are INVALID_ARGUMENT and change nothing. */
  @Test
  void modifyRefusesUnknownKeysAndBadValues() {
    String id = f.controller.createVolume(createRequest("pvc-r", 8 << 20)
        .putAllMutableParams(GOLD).build()).getVolume().getVolumeId();
    LunQos before = lun(id).getQos();
    for (Map<String, String> bad : java.util.List.of(
        Map.of("XXX_FakeKey", "XXX_FakeValue"),
        Map.of("qos.readIops", "-1"),
        Map.of("qos.readIops", "1.5"),
        Map.of("qos.writeIops", String.valueOf((1L << 40) + 1)),
        Map.of("qos.readBytesPerSecond", "1Ki"),
        Map.of("qos.readBytesPerSecond", "fast"),
        Map.of("qos.burstSeconds", "0.0001"),
        Map.of("qos.burstSeconds", "3601"),
        Map.of("qos.burstSeconds", "-1"),
        Map.of("qos.readIops", "500", "qos.bogus", "1"))) {
      assertThatThrownBy(() -> modify(id, bad)).as("%s", bad)
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Code.INVALID_ARGUMENT));
    }
    assertThat(lun(id).getQos()).isEqualTo(before);
  }

  /** The volume id is required and must name a volume; no parameters at all is a no-op. */
  @Test
  void modifyNeedsAnExistingVolume() {
    assertCode(() -> modify("", GOLD), Code.INVALID_ARGUMENT);
    assertCode(() -> modify("local.pvc-missing", GOLD), Code.NOT_FOUND);
    assertCode(() -> modify("non-existing-volume-id", GOLD), Code.NOT_FOUND);
    String id = f.create("pvc-empty", 8 << 20).getVolumeId();
    modify(id, Map.of());
    assertThat(lun(id).hasQos()).isFalse();
  }

  /**
   * A repeated modification succeeds and writes nothing: the engine's state journal is untouched.
   */
  @Test
  void modifyIsIdempotent() throws Exception {
    String id = f.create("pvc-i", 8 << 20).getVolumeId();
    modify(id, GOLD);
    LunQos once = lun(id).getQos();
    FileTime saved = Files.getLastModifiedTime(stateFile());
    Thread.sleep(20); // a later write would have a later mtime
    modify(id, GOLD);
    assertThat(lun(id).getQos()).isEqualTo(once);
    assertThat(Files.getLastModifiedTime(stateFile())).isEqualTo(saved);
  }

  /**
   * A change takes hold on a logged-in session without detaching it: libiscsi's iscsi-perf reads
   * at the create-time limit (200 IOPS, at most 10 % above), then within a second of
   * ControllerModifyVolume at the new one (800 IOPS), on the same session. The lower bounds are
   * loose: on a loaded machine with a cold JIT the client may fall short of a limit.
   */
  @Test
  void liveChangeOnALoggedInSession() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/iscsi-perf")),
        "libiscsi-bin (iscsi-perf) is not installed");
    String id = f.controller.createVolume(createRequest("pvc-live", 64 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(block(Mode.SINGLE_NODE_WRITER))
        .putParameters("chap", "false").putMutableParams("qos.readIops", "200")
        .putMutableParams("qos.burstSeconds", "0.1").build())
        .getVolume().getVolumeId();
    var published = f.publish(id, NODE_A, block(Mode.SINGLE_NODE_WRITER), false);
    Process perf = new ProcessBuilder("iscsi-perf", "-i", NODE_A, "-m", "64", "-b", "8", "-r",
        "-t", "30", Libiscsi.url(published)).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      awaitReads(id);
      Thread.sleep(500);
      assertThat(readRate(id, 2000)).isBetween(150.0, 220.0);
      String iqn = f.config.iqnPrefix() + ":" + id;
      var sessions = f.engine.client().sessions(iqn);

      modify(id, Map.of("qos.readIops", "800"));
      Thread.sleep(1000);
      assertThat(readRate(id, 2000)).isBetween(600.0, 880.0);
      assertThat(f.engine.client().sessions(iqn)).extracting(s -> s.getTsih())
          .isEqualTo(sessions.stream().map(s -> s.getTsih()).toList());
      assertThat(perf.isAlive()).isTrue();
    } finally {
      perf.destroyForcibly();
      perf.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private void awaitReads(String id) {
    await("iscsi-perf started reading").atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(50)).until(() -> lun(id).getStatistics().getReadOps() > 0);
  }

  /** READ commands per second the LUN completed over the next {@code millis}. */
  private double readRate(String id, long millis) throws InterruptedException {
    long t0 = System.nanoTime();
    long r0 = lun(id).getStatistics().getReadOps();
    Thread.sleep(millis);
    long r1 = lun(id).getStatistics().getReadOps();
    return (r1 - r0) / ((System.nanoTime() - t0) / 1e9);
  }
}
