package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_B;
import static org.iscsicsi.controller.service.ControllerFixture.block;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ControllerPublishVolume and ControllerUnpublishVolume against the real embedded engine: the node
 * id is the initiator IQN and becomes a grant (read-only when asked or implied by the mode); one
 * node per single-node volume (FAILED_PRECONDITION for a second); ALREADY_EXISTS for an
 * incompatible republish; publish_context with portals, IQN, LUN and CHAP flag but no secret;
 * generated CHAP credentials, replaced by those of the publish secrets when they carry any, and
 * INVALID_ARGUMENT for a CHAP volume whose target has none; unpublish revokes and is idempotent.
 */
class PublishTest {

  @TempDir Path dir;
  ControllerFixture f;
  Csi.Volume vol;

  @BeforeEach
  void start() throws IOException {
    f = new ControllerFixture(dir);
    vol = f.create("pub", 1 << 20);
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
  }

  private Target target() {
    return f.engine.client().findTarget(f.config.iqnPrefix() + ":" + vol.getVolumeId())
        .orElseThrow();
  }

  @Test
  void publishGrantsTheNodesInitiatorAndDescribesTheTarget() {
    Csi.ControllerPublishVolumeResponse r =
        f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);

    assertThat(r.getPublishContextMap())
        .containsEntry("targetIqn", "iqn.2026-11.org.iscsicsi:local.pub")
        .containsEntry("portals", f.portal())
        .containsEntry("lun", "0")
        .containsEntry("chap", "true")
        .containsEntry("readOnly", "false")
        .containsEntry("serial", target().getLuns(0).getSerial())
        .containsEntry("naa", target().getLuns(0).getNaa());
    assertThat(r.getPublishContextOrThrow("naa")).matches("[0-9a-f]{32}");
    assertThat(target().getGrantsList()).containsExactly(
        InitiatorGrant.newBuilder().setInitiator(NODE_A).setReadOnly(false).build());
    assertThat(f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false))
        .isEqualTo(r);
  }

  @Test
  void republishingWithAnotherReadonlyFlagIsAlreadyExists() {
    f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    assertCode(() -> f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), true),
        Code.ALREADY_EXISTS);
  }

  @Test
  void aSecondNodeOnASingleNodeVolumeIsFailedPrecondition() {
    f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    assertCode(() -> f.publish(vol.getVolumeId(), NODE_B, mount(Mode.SINGLE_NODE_WRITER), false),
        Code.FAILED_PRECONDITION);
    assertCode(() -> f.publish(vol.getVolumeId(), NODE_B, mount(Mode.MULTI_NODE_READER_ONLY),
        true), Code.FAILED_PRECONDITION);
  }

  @Test
  void readerOnlyVolumesGoReadOnlyToManyNodes() {
    Csi.ControllerPublishVolumeResponse a =
        f.publish(vol.getVolumeId(), NODE_A, mount(Mode.MULTI_NODE_READER_ONLY), false);
    f.publish(vol.getVolumeId(), NODE_B, mount(Mode.MULTI_NODE_READER_ONLY), false);
    assertThat(a.getPublishContextMap()).containsEntry("readOnly", "true");
    assertThat(target().getGrantsList()).extracting(InitiatorGrant::getReadOnly)
        .containsExactly(true, true);
  }

  @Test
  void multiNodeWritersShareOptedInBlockVolumes() {
    Csi.Volume shared = f.controller.createVolume(createRequest("shared", 1 << 20)
        .clearVolumeCapabilities().addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER))
        .putParameters("multiNodeMultiWriter", "true").build()).getVolume();
    f.publish(shared.getVolumeId(), NODE_A, block(Mode.MULTI_NODE_MULTI_WRITER), false);
    f.publish(shared.getVolumeId(), NODE_B, block(Mode.MULTI_NODE_MULTI_WRITER), false);
    assertCode(() -> f.publish(vol.getVolumeId(), NODE_A, block(Mode.MULTI_NODE_MULTI_WRITER),
        false), Code.INVALID_ARGUMENT);
  }

  @Test
  void badRequestsGetTheSpecsCodes() {
    assertCode(() -> f.publish("", NODE_A, mount(Mode.SINGLE_NODE_WRITER), false),
        Code.INVALID_ARGUMENT);
    assertCode(() -> f.publish(vol.getVolumeId(), "", mount(Mode.SINGLE_NODE_WRITER), false),
        Code.INVALID_ARGUMENT);
    assertCode(() -> f.controller.controllerPublishVolume(
        Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(vol.getVolumeId())
            .setNodeId(NODE_A).build()), Code.INVALID_ARGUMENT);
    assertCode(() -> f.publish("local.missing", NODE_A, mount(Mode.SINGLE_NODE_WRITER), false),
        Code.NOT_FOUND);
    assertCode(() -> f.publish(vol.getVolumeId(), "fake-node-id-1",
        mount(Mode.SINGLE_NODE_WRITER), false), Code.NOT_FOUND);
    assertThat(target().getGrantsList()).isEmpty();
  }

  @Test
  void publishSecretsReplaceGeneratedChapCredentials() {
    Csi.Volume chap = f.controller.createVolume(createRequest("chap", 1 << 20)
        .putParameters("chap", "true").build()).getVolume();
    Csi.ControllerPublishVolumeRequest.Builder req = Csi.ControllerPublishVolumeRequest
        .newBuilder().setVolumeId(chap.getVolumeId()).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER));
    // generated at CreateVolume: no publish secrets needed
    f.controller.controllerPublishVolume(req.build());
    assertThat(f.engine.client().findTarget(f.config.iqnPrefix() + ":" + chap.getVolumeId())
        .orElseThrow().getChap().getUser()).isEqualTo(chap.getVolumeId());
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(chap.getVolumeId()).setNodeId(NODE_A).build());

    Csi.ControllerPublishVolumeResponse r = f.controller.controllerPublishVolume(req
        .putAllSecrets(Map.of("username", "node-a", "password", "secret-12345678",
            "username_in", "target", "password_in", "mutual-12345678")).build());
    assertThat(r.getPublishContextMap()).containsEntry("chap", "true")
        .doesNotContainValue("secret-12345678").doesNotContainValue("mutual-12345678");
    Target t = f.engine.client().findTarget(f.config.iqnPrefix() + ":" + chap.getVolumeId())
        .orElseThrow();
    assertThat(t.getChap().getUser()).isEqualTo("node-a");
    assertThat(t.getChap().getMutualUser()).isEqualTo("target");
    assertThat(t.getLabelsMap()).containsEntry("csi.iscsicsi.org/chap-credentials", "secrets");
  }

  @Test
  void aChapTargetWithoutCredentialsNeedsThePublishSecrets() {
    // a volume whose CHAP was to come from the publish secrets (labels of an older controller)
    String iqn = f.config.iqnPrefix() + ":local.legacy";
    f.engine.client().createTarget(iqn, "legacy", Map.of(
        "csi.iscsicsi.org/managed-by", f.config.driverName(), "csi.iscsicsi.org/name", "legacy",
        "csi.iscsicsi.org/param.chap", "true", "csi.iscsicsi.org/access-types", "mount"));
    f.engine.client().createLun(org.iscsicsi.target.v1.CreateLunRequest.newBuilder()
        .setTarget(iqn).setLun(0).setSizeBytes(1 << 20).setBlockSize(512).build());
    assertCode(() -> f.publish("local.legacy", NODE_A, mount(Mode.SINGLE_NODE_WRITER), false),
        Code.INVALID_ARGUMENT);
    assertThat(f.engine.client().findTarget(iqn).orElseThrow().getGrantsList()).isEmpty();
  }

  @Test
  void unpublishRevokesAndIsIdempotent() {
    f.publish(vol.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    Csi.ControllerUnpublishVolumeRequest un = Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(vol.getVolumeId()).setNodeId(NODE_A).build();
    f.controller.controllerUnpublishVolume(un);
    f.controller.controllerUnpublishVolume(un);
    assertThat(target().getGrantsList()).isEmpty();
    f.publish(vol.getVolumeId(), NODE_B, mount(Mode.SINGLE_NODE_WRITER), false);
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId("local.missing").setNodeId(NODE_A).build());
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(vol.getVolumeId()).build());
    assertThat(target().getGrantsList()).isEmpty();
    assertCode(() -> f.controller.controllerUnpublishVolume(
        Csi.ControllerUnpublishVolumeRequest.getDefaultInstance()), Code.INVALID_ARGUMENT);
  }
}
