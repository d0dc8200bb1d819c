package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_B;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What publishing means on the wire, checked with libiscsi's initiator tools (Debian package
 * libiscsi-bin) against the embedded engine's real iSCSI listener: a volume of default parameters
 * requires CHAP, so a published node's initiator name alone does not log in; with the volume's
 * credentials (given to libiscsi through its environment, never its command line) the published
 * initiator logs in and reads LUN 0 with the size CreateVolume reported, another initiator
 * cannot even with them; with {@code chap: "false"} the initiator name alone is enough;
 * DeleteVolume is FAILED_PRECONDITION while an initiator holds a session; ControllerUnpublish
 * revokes the grant and closes the session, after which the volume deletes.
 */
class IscsiAccessTest {

  @TempDir Path dir;
  ControllerFixture f;

  @BeforeEach
  void start() throws IOException {
    Assumptions.assumeTrue(Libiscsi.installed(),
        "libiscsi-bin (iscsi-inq, iscsi-readcapacity16, iscsi-perf) is not installed");
    f = new ControllerFixture(dir);
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (f != null) {
      f.close();
    }
  }

  static final Map<String, String> CREDENTIALS =
      Map.of("username", "node-a", "password", "access-test-secret");

  private static String url(Csi.ControllerPublishVolumeResponse r) {
    return Libiscsi.url(r);
  }

  private static Libiscsi.Result run(String... cmd) throws IOException, InterruptedException {
    return Libiscsi.run(Map.of(), cmd);
  }

  private static Libiscsi.Result run(Map<String, String> chap, String... cmd)
      throws IOException, InterruptedException {
    return Libiscsi.run(chap, cmd);
  }

  @Test
  void withoutChapTheInitiatorNameAloneLogsIn() throws Exception {
    Csi.Volume v = f.controller.createVolume(ControllerFixture.createRequest("open", 8 << 20)
        .putParameters("chap", "false").build()).getVolume();
    String url = url(f.publish(v.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false));
    Libiscsi.Result in = run("iscsi-inq", "-i", NODE_A, url);
    assertThat(in.exit()).as(in.output()).isZero();
  }

  @Test
  void onlyPublishedInitiatorsReachTheLunAndSessionsBlockDelete() throws Exception {
    Csi.Volume v = f.create("wire", 8 << 20);
    // the generated credentials are only in the engine here (no Kubernetes API)
    Csi.ControllerPublishVolumeResponse generated =
        f.publish(v.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    Libiscsi.Result nameOnly = run("iscsi-inq", "-i", NODE_A, url(generated));
    assertThat(nameOnly.exit()).as("a granted initiator without CHAP credentials: %s",
        nameOnly.output()).isNotZero();
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A).build());
    // an operator's credentials through the publish secrets replace them
    Csi.ControllerPublishVolumeResponse pub = f.controller.controllerPublishVolume(
        Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
            .setNodeId(NODE_A).setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER))
            .putAllSecrets(CREDENTIALS).build());
    String url = url(pub);
    assertThat(run("iscsi-inq", "-i", NODE_A, url).exit()).isNotZero();

    Libiscsi.Result cap = run(CREDENTIALS, "iscsi-readcapacity16", "-i", NODE_A, url);
    assertThat(cap.exit()).as(cap.output()).isZero();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(
        "returned logical block address:\\s*(\\d+)", java.util.regex.Pattern.CASE_INSENSITIVE)
        .matcher(cap.output());
    assertThat(m.find()).as(cap.output()).isTrue();
    long lastLba = Long.parseLong(m.group(1));
    assertThat((lastLba + 1) * 512).isEqualTo(v.getCapacityBytes());

    Libiscsi.Result other = run(CREDENTIALS, "iscsi-inq", "-i", NODE_B, url);
    assertThat(other.exit()).as(other.output()).isNotZero();

    ProcessBuilder perf = new ProcessBuilder("iscsi-perf", "-i", NODE_A, "-t", "60", url)
        .redirectErrorStream(true).redirectOutput(dir.resolve("perf.log").toFile());
    Libiscsi.withChap(perf, CREDENTIALS);
    Process holder = perf.start();
    try {
      String iqn = pub.getPublishContextOrThrow("targetIqn");
      await("a session of iscsi-perf").atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(100))
          .failFast(() -> assertThat(holder.isAlive()).as("iscsi-perf: %s",
              Files.readString(dir.resolve("perf.log"))).isTrue())
          .until(() -> !f.engine.client().sessions(iqn).isEmpty());
      assertCode(() -> f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).build()), Code.FAILED_PRECONDITION);

      f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).setNodeId(NODE_A).build());
      assertThat(f.engine.client().sessions(iqn)).isEmpty();
      f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).build());
      assertThat(f.engine.client().listTargets(java.util.Map.of())).isEmpty();
    } finally {
      holder.destroyForcibly();
      holder.waitFor(10, TimeUnit.SECONDS);
    }
    Libiscsi.Result gone = run(CREDENTIALS, "iscsi-inq", "-i", NODE_A, url);
    assertThat(gone.exit()).as("the deleted volume's target: %s", gone.output()).isNotZero();
  }
}
