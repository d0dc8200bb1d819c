package csi.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Pins csi.v1's wire format to the CSI v1.12.0 spec: three messages the sidecars exchange with us
 * encode to bytes written by hand from the spec's field numbers and types, and those bytes parse
 * back to the same messages. A renumbered or retyped field in csi.proto fails here, and so does the
 * renamed {@code mutable_params} (spec: {@code mutable_parameters}) if its number drifts from 8.
 *
 * <p>Encoding reminders: a tag byte is {@code (field << 3) | wire type}, with wire type 0 for
 * varints (int64, bool, enum) and 2 for length-delimited values (string, message, map entry); a
 * map entry is a message with key = field 1 and value = field 2. Serialization is deterministic
 * (maps sorted by key), as csi-sanity's Go peer does not care about map order but this test must.
 */
class CsiWireCompatibilityTest {

  /** CreateVolumeRequest, every field from 1 to 8 set once. */
  private static final String CREATE_VOLUME_REQUEST =
      // 1 name: tag 0x0a, length 5, "pvc-1"
      "0a05" + "7076632d31"
      // 2 capacity_range: tag 0x12, length 6; inside, 1 required_bytes = 2^30 as a varint
      + "1206" + "08" + "8080808004"
      // 3 volume_capabilities: tag 0x1a, length 12
      //   2 mount: tag 0x12, length 6; inside, 1 fs_type = "ext4"
      //   3 access_mode: tag 0x1a, length 2; inside, 1 mode = SINGLE_NODE_WRITER (1)
      + "1a0c" + "1206" + "0a04" + "65787434" + "1a02" + "0801"
      // 4 parameters {"fsType": "xfs"}: tag 0x22, entry length 13 (key 0x0a len 6, value 0x12 len
      // 3)
      + "220d" + "0a06" + "667354797065" + "1203" + "786673"
      // 5 secrets {"username": "u"}: tag 0x2a, entry length 13
      + "2a0d" + "0a08" + "757365726e616d65" + "1201" + "75"
      // 6 volume_content_source: tag 0x32, length 10
      //   1 snapshot: tag 0x0a, length 8; inside, 1 snapshot_id = "snap-1"
      + "320a" + "0a08" + "0a06" + "736e61702d31"
      // 7 accessibility_requirements: tag 0x3a, length 13
      //   1 requisite (Topology): tag 0x0a, length 11
      //     1 segments {"zone": "a"}: tag 0x0a, entry length 9
      + "3a0d" + "0a0b" + "0a09" + "0a04" + "7a6f6e65" + "1201" + "61"
      // 8 mutable_parameters {"iops": "10"}: tag 0x42, entry length 10
      + "420a" + "0a04" + "696f7073" + "1202" + "3130";

  /** NodeStageVolumeRequest, fields 1 to 6, for a raw block volume. */
  private static final String NODE_STAGE_VOLUME_REQUEST =
      // 1 volume_id: tag 0x0a, length 5, "vol-1"
      "0a05" + "766f6c2d31"
      // 2 publish_context {"lun": "0"}: tag 0x12, entry length 8
      + "1208" + "0a03" + "6c756e" + "1201" + "30"
      // 3 staging_target_path: tag 0x1a, length 6, "/stage"
      + "1a06" + "2f7374616765"
      // 4 volume_capability: tag 0x22, length 6
      //   1 block: tag 0x0a, length 0 (BlockVolume is empty)
      //   3 access_mode: tag 0x1a, length 2; inside, 1 mode = SINGLE_NODE_MULTI_WRITER (7)
      + "2206" + "0a00" + "1a02" + "0807"
      // 5 secrets {"password": "p"}: tag 0x2a, entry length 13
      + "2a0d" + "0a08" + "70617373776f7264" + "1201" + "70"
      // 6 volume_context {"fsType": "ext4"}: tag 0x32, entry length 14
      + "320e" + "0a06" + "667354797065" + "1204" + "65787434";

  /** ControllerPublishVolumeResponse: field 1 publish_context, two entries in key order. */
  private static final String CONTROLLER_PUBLISH_VOLUME_RESPONSE =
      // 1 publish_context {"lun": "0"}: tag 0x0a, entry length 8
      "0a08" + "0a03" + "6c756e" + "1201" + "30"
      // 1 publish_context {"target": "iqn.x"}: tag 0x0a, entry length 15
      + "0a0f" + "0a06" + "746172676574" + "1205" + "69716e2e78";

  @Test
  void createVolumeRequestMatchesTheSpecsFieldNumbers() throws IOException {
    Csi.CreateVolumeRequest request =
        Csi.CreateVolumeRequest.newBuilder()
            .setName("pvc-1")
            .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1L << 30))
            .addVolumeCapabilities(
                Csi.VolumeCapability.newBuilder()
                    .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
                    .setAccessMode(
                        Csi.VolumeCapability.AccessMode.newBuilder()
                            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
            .putParameters("fsType", "xfs")
            .putSecrets("username", "u")
            .setVolumeContentSource(
                Csi.VolumeContentSource.newBuilder()
                    .setSnapshot(
                        Csi.VolumeContentSource.SnapshotSource.newBuilder()
                            .setSnapshotId("snap-1")))
            .setAccessibilityRequirements(
                Csi.TopologyRequirement.newBuilder()
                    .addRequisite(Csi.Topology.newBuilder().putSegments("zone", "a")))
            .putMutableParams("iops", "10")
            .build();

    assertThat(hex(request)).isEqualTo(CREATE_VOLUME_REQUEST);
    assertThat(Csi.CreateVolumeRequest.parseFrom(bytes(CREATE_VOLUME_REQUEST))).isEqualTo(request);
  }

  @Test
  void nodeStageVolumeRequestMatchesTheSpecsFieldNumbers() throws IOException {
    Csi.NodeStageVolumeRequest request =
        Csi.NodeStageVolumeRequest.newBuilder()
            .setVolumeId("vol-1")
            .putPublishContext("lun", "0")
            .setStagingTargetPath("/stage")
            .setVolumeCapability(
                Csi.VolumeCapability.newBuilder()
                    .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
                    .setAccessMode(
                        Csi.VolumeCapability.AccessMode.newBuilder()
                            .setMode(
                                Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_MULTI_WRITER)))
            .putSecrets("password", "p")
            .putVolumeContext("fsType", "ext4")
            .build();

    assertThat(hex(request)).isEqualTo(NODE_STAGE_VOLUME_REQUEST);
    assertThat(Csi.NodeStageVolumeRequest.parseFrom(bytes(NODE_STAGE_VOLUME_REQUEST)))
        .isEqualTo(request);
  }

  @Test
  void controllerPublishVolumeResponseMatchesTheSpecsFieldNumbers() throws IOException {
    Csi.ControllerPublishVolumeResponse response =
        Csi.ControllerPublishVolumeResponse.newBuilder()
            .putPublishContext("target", "iqn.x")
            .putPublishContext("lun", "0")
            .build();

    assertThat(hex(response)).isEqualTo(CONTROLLER_PUBLISH_VOLUME_RESPONSE);
    assertThat(
            Csi.ControllerPublishVolumeResponse.parseFrom(
                bytes(CONTROLLER_PUBLISH_VOLUME_RESPONSE)))
        .isEqualTo(response);
  }

  @Test
  void theGeneratedApiIsTheSpecsServices() {
    assertThat(IdentityGrpc.SERVICE_NAME).isEqualTo("csi.v1.Identity");
    assertThat(ControllerGrpc.SERVICE_NAME).isEqualTo("csi.v1.Controller");
    assertThat(NodeGrpc.SERVICE_NAME).isEqualTo("csi.v1.Node");
    assertThat(ControllerGrpc.getCreateVolumeMethod().getFullMethodName())
        .isEqualTo("csi.v1.Controller/CreateVolume");
    assertThat(NodeGrpc.getNodeStageVolumeMethod().getFullMethodName())
        .isEqualTo("csi.v1.Node/NodeStageVolume");
  }

  private static String hex(MessageLite message) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.useDeterministicSerialization();
    message.writeTo(coded);
    coded.flush();
    return HexFormat.of().formatHex(out.toByteArray());
  }

  private static byte[] bytes(String hex) {
    return HexFormat.of().parseHex(hex);
  }
}
