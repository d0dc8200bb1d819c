package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.block;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * External volumes (static PVs on an array this driver does not manage, id {@code ext:<name>})
 * against the in-process controller with its real embedded engine: ControllerPublishVolume
 * passes the validated volume attributes on in publish_context (read-only from the PV, the
 * request or the access mode) and ControllerUnpublishVolume succeeds, both without touching the
 * engine; bad attributes are INVALID_ARGUMENT naming the attribute; ListVolumes does not list
 * them, ControllerGetVolume is NOT_FOUND, DeleteVolume deletes nothing, ControllerExpandVolume
 * leaves the growing to the array and the node; the prefix never parses as an own id.
 */
class ExternalVolumeTest {

  static final String ID = "ext:array1.lun7";
  static final Map<String, String> ATTRIBUTES = Map.of(
      "portals", "192.0.2.10:3260,192.0.2.11:3260", "targetIqn",
      "iqn.1992-08.com.example:sn.4711", "lun", "7", "fsType", "xfs",
      "naa", "naa.600a098038303053453f463045727a53", "discovery", "none");

  @TempDir Path dir;
  ControllerFixture f;
  Csi.Volume own;

  @BeforeEach
  void start() throws IOException {
    f = new ControllerFixture(dir);
    own = f.create("own", 1 << 20);
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
  }

  private Csi.ControllerPublishVolumeResponse publish(Map<String, String> attributes,
      Csi.VolumeCapability cap, boolean readOnly) {
    return f.controller.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(ID).setNodeId(NODE_A).setVolumeCapability(cap).setReadonly(readOnly)
        .putAllVolumeContext(attributes).build());
  }

  private List<Target> engineTargets() {
    return f.engine.client().listTargets(Map.of());
  }

  @Test
  void publishPassesTheAttributesOnWithoutTouchingTheEngine() {
    List<Target> before = engineTargets();
    var r = publish(ATTRIBUTES, mount(Mode.SINGLE_NODE_WRITER), false);
    assertThat(r.getPublishContextMap()).containsOnly(
        Map.entry("targetIqn", "iqn.1992-08.com.example:sn.4711"),
        Map.entry("portals", "192.0.2.10:3260,192.0.2.11:3260"),
        Map.entry("lun", "7"), Map.entry("fsType", "xfs"),
        Map.entry("naa", "naa.600a098038303053453f463045727a53"),
        Map.entry("discovery", "none"), Map.entry("chap", "true"),
        Map.entry("discoveryChap", "false"), Map.entry("readOnly", "false"));
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(ID).setNodeId(NODE_A).build());
    assertThat(engineTargets()).isEqualTo(before);
  }

  @Test
  void readOnlyComesFromThePvTheRequestOrTheAccessMode() {
    Map<String, String> ro = new HashMap<>(ATTRIBUTES);
    ro.put("readOnly", "true");
    assertThat(publish(ro, block(Mode.SINGLE_NODE_WRITER), false).getPublishContextMap())
        .containsEntry("readOnly", "true");
    assertThat(publish(ATTRIBUTES, block(Mode.SINGLE_NODE_WRITER), true).getPublishContextMap())
        .containsEntry("readOnly", "true");
    assertThat(publish(ATTRIBUTES, mount(Mode.MULTI_NODE_READER_ONLY), false)
        .getPublishContextMap()).containsEntry("readOnly", "true");
  }

  @Test
  void badAttributesAreInvalidArgumentNamingTheAttribute() {
    record Case(String key, String value, String message) {}
    for (Case c : List.of(
        new Case("portals", "", "portals"),
        new Case("portals", "192.0.2.10", "not host:port"),
        new Case("targetIqn", "IQN.bad name", "targetIqn"),
        new Case("lun", "16384", "lun"),
        new Case("lun", "-1", "lun"),
        new Case("fsType", "ntfs", "fsType"),
        new Case("naa", "xyz", "naa"),
        new Case("discovery", "isns", "discovery"),
        new Case("chap", "yes", "chap"),
        new Case("portal", "192.0.2.10:3260", "unknown volume attribute \"portal\""))) {
      Map<String, String> a = new HashMap<>(ATTRIBUTES);
      a.put(c.key(), c.value());
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
          () -> publish(a, mount(Mode.SINGLE_NODE_WRITER), false));
      assertThat(e).as(c.toString()).isNotNull();
      assertThat(e.getStatus().getCode()).as(c.toString()).isEqualTo(Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).as(c.toString()).contains(c.message());
    }
    Map<String, String> noIqn = new HashMap<>(ATTRIBUTES);
    noIqn.remove("targetIqn");
    assertCode(() -> publish(noIqn, mount(Mode.SINGLE_NODE_WRITER), false),
        Code.INVALID_ARGUMENT);
    assertCode(() -> publish(ATTRIBUTES, mount(Mode.MULTI_NODE_MULTI_WRITER), false),
        Code.INVALID_ARGUMENT);
  }

  @Test
  void theControllerDoesNotListGetOrDeleteExternalVolumes() {
    publish(ATTRIBUTES, mount(Mode.SINGLE_NODE_WRITER), false);
    assertThat(f.controller.listVolumes(Csi.ListVolumesRequest.getDefaultInstance())
        .getEntriesList()).extracting(e -> e.getVolume().getVolumeId())
        .containsExactly(own.getVolumeId());
    assertCode(() -> f.controller.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(ID).build()), Code.NOT_FOUND);
    List<Target> before = engineTargets();
    f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(ID).build());
    assertThat(engineTargets()).isEqualTo(before);
  }

  @Test
  void expansionIsLeftToTheArrayAndTheNode() {
    var r = f.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(ID).setCapacityRange(Csi.CapacityRange.newBuilder()
            .setRequiredBytes(2L << 30)).build());
    assertThat(r.getCapacityBytes()).isEqualTo(2L << 30);
    assertThat(r.getNodeExpansionRequired()).isTrue();
  }

  @Test
  void theExternalPrefixIsNeverAnOwnVolumeId() {
    assertThat(VolumeId.parse(ID)).isEmpty();
    assertThat(VolumeId.parse("ext:local.pub")).isEmpty();
    assertThat(VolumeId.parse("ext.pub")).isPresent();
  }
}
