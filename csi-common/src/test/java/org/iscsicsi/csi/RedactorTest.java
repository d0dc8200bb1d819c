package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.TextFormat;
import csi.v1.Csi;
import org.junit.jupiter.api.Test;

/**
 * What the call log may print: every field marked {@code csi_secret} in csi.proto has its values
 * replaced (keys kept), at any depth, and mount flags are dropped; everything else is kept.
 */
class RedactorTest {

  @Test
  void secretsAndMountFlagsNeverReachTheLog() {
    Csi.CreateVolumeRequest req = Csi.CreateVolumeRequest.newBuilder().setName("pvc-1")
        .putSecrets("password", "hunter2-secret")
        .putParameters("chap", "true")
        .addVolumeCapabilities(Csi.VolumeCapability.newBuilder().setMount(
            Csi.VolumeCapability.MountVolume.newBuilder().setFsType("xfs")
                .addMountFlags("password=flag-secret")))
        .build();
    String logged = TextFormat.shortDebugString(Redactor.redact(req));
    assertThat(logged).doesNotContain("hunter2-secret").doesNotContain("flag-secret")
        .contains("password").contains("***").contains("pvc-1").contains("xfs")
        .contains("chap");

    Csi.NodeStageVolumeRequest stage = Csi.NodeStageVolumeRequest.newBuilder()
        .setVolumeId("v").putSecrets("password_in", "mutual-secret").build();
    assertThat(TextFormat.shortDebugString(Redactor.redact(stage)))
        .doesNotContain("mutual-secret").contains("password_in");
  }
}
