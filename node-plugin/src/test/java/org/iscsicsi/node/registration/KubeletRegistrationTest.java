package org.iscsicsi.node.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.InfoRequest;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.PluginInfo;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.RegistrationStatus;
import org.iscsicsi.kubelet.pluginregistration.v1.RegistrationGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the registration socket as kubelet's plugin watcher uses it: a client on the real unix
 * socket in the registration directory gets the driver's name, type, CSI socket and versions, its
 * verdict is kept (success and refusal), a stale socket is replaced, and closing removes it.
 */
class KubeletRegistrationTest {
  static final String DRIVER = "iscsi.csi.iscsicsi.org";
  static final Path CSI = Path.of("/var/lib/kubelet/plugins/iscsi.csi.iscsicsi.org/csi.sock");

  @TempDir Path dir;

  @Test
  void kubeletGetsTheDriverAndItsCsiSocketAndItsVerdictIsKept() throws Exception {
    try (var reg = new KubeletRegistration(DRIVER, CSI).serve(dir)) {
      Path sock = dir.resolve(DRIVER + "-reg.sock");
      assertThat(sock).exists();
      ManagedChannel ch = Grpc.newChannelBuilder("unix://" + sock,
          InsecureChannelCredentials.create()).build();
      try {
        var stub = RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        PluginInfo info = stub.getInfo(InfoRequest.getDefaultInstance());
        assertThat(info.getType()).isEqualTo("CSIPlugin");
        assertThat(info.getName()).isEqualTo(DRIVER);
        assertThat(info.getEndpoint()).isEqualTo(CSI.toString());
        assertThat(info.getSupportedVersionsList()).containsExactly("1.0.0");
        assertThat(reg.status()).isEmpty();

        stub.notifyRegistrationStatus(RegistrationStatus.newBuilder()
            .setPluginRegistered(false).setError("no NodeGetInfo").build());
        assertThat(reg.status()).contains(new KubeletRegistration.Status(false,
            "no NodeGetInfo"));
        stub.notifyRegistrationStatus(RegistrationStatus.newBuilder()
            .setPluginRegistered(true).build());
        assertThat(reg.status()).contains(new KubeletRegistration.Status(true, ""));
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    assertThat(dir.resolve(DRIVER + "-reg.sock")).doesNotExist();
  }

  @Test
  void aStaleSocketOfAPredecessorIsReplacedAndARegularFileIsNot() throws Exception {
    try (var first = new KubeletRegistration(DRIVER, CSI).serve(dir)) {
      // a killed predecessor leaves its socket behind: the next one serves in its place
      try (var second = new KubeletRegistration(DRIVER, CSI).serve(dir)) {
        assertThat(second.socketIn(dir)).exists();
      }
    }
    Files.writeString(dir.resolve(DRIVER + "-reg.sock"), "not a socket");
    assertThatThrownBy(() -> new KubeletRegistration(DRIVER, CSI).serve(dir))
        .hasMessageContaining("not a socket");
  }

  @Test
  void badDriverNamesAndRelativeSocketsAreRefused() {
    assertThatThrownBy(() -> new KubeletRegistration("Bad_Name", CSI))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Bad_Name");
    assertThatThrownBy(() -> new KubeletRegistration("../x", CSI))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new KubeletRegistration(DRIVER, Path.of("csi.sock")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
  }
}
