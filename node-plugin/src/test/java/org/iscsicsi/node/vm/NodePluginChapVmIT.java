package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CHAP secrets stay off command lines and at rest readable by root only, with the real
 * {@code iscsiadm}/{@code iscsid} in the VM and Debian's tgtd on the host, which requires CHAP for
 * SendTargets discovery too (its discovery account is the first volume's). It pins:
 *
 * <ul>
 *   <li>a CHAP login (volume 1) and a mutual CHAP login (volume 2, tgtd answers as its outgoing
 *       account) stage, and the staging mount is nosuid,nodev;
 *   <li>discovery refused without CHAP is retried with volume 1's credentials and lists the
 *       target; for volume 2 (publish_context {@code discoveryChap=true}) authenticated discovery
 *       is refused (not tgtd's discovery account) and the plugin logs in directly;
 *   <li>no iscsiadm argv (every call goes through a recording wrapper, {@code --iscsiadm}) and no
 *       {@code /proc/PID/cmdline} sampled while staging contains a secret;
 *   <li>the node record files are mode 0600 in 0700 directories and hold the settings
 *       ({@code node.startup=manual} as iscsiadm reads it back); no discovery record is left;
 *   <li>the plugin's log at DEBUG (the console) never shows a secret.
 * </ul>
 */
class NodePluginChapVmIT {

  private static final int ISCSI_PORT = ServeProcess.freePort();
  private static final int TGTD_CONTROL_INDEX = 13466;
  private static final int CSI_PORT = ServeProcess.freePort();
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-chap-node";
  private static final String IQN1 = "iqn.2026-11.org.iscsicsi:pvc-chap-1";
  private static final String IQN2 = "iqn.2026-11.org.iscsicsi:pvc-mutual-2";
  private static final String PORTAL = QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT;
  private static final String KUBELET = "/var/lib/kubelet/plugins/kubernetes.io/csi/iscsi/";

  /** Records every iscsiadm argv in the guest, then runs the real one. */
  private static final String PRELUDE = """
      cat > /tmp/iscsiadm-rec <<'EOF'
      #!/bin/sh
      printf '%s\\n' "$*" >> /tmp/iscsiadm-argv.log
      exec /usr/sbin/iscsiadm "$@"
      EOF
      chmod 755 /tmp/iscsiadm-rec
      export NODE_PLUGIN_LOG_LEVEL=DEBUG
      """;

  /**
   * Counts cmdline samples and records processes whose cmdline holds a secret; the secrets come
   * from /tmp/needles (written by the shell's builtin echo, so never in an argv themselves).
   */
  private static final String SAMPLER = "(n=0; while [ ! -e /tmp/stop-sampler ]; do"
      + " grep -a -l -F -f /tmp/needles /proc/[0-9]*/cmdline >> /tmp/cmdline-hits 2>/dev/null;"
      + " n=$((n + 1)); done; echo $n > /tmp/samples) >/dev/null 2>&1 &";

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuAndTgt() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(Tgtd.unavailableReason().isEmpty(), () -> Tgtd.unavailableReason().get());
    assumeTrue(Files.exists(Path.of(System.getProperty("user.dir"), "target/node-plugin.jar")),
        "node-plugin.jar not built (run with verify)");
  }

  @Test
  void chapAndMutualChapSecretsNeverReachACommandLineALogOrAReadableFile() throws Exception {
    String secret1 = random("s1");
    String secret2 = random("s2");
    String targetSecret = random("t2");
    List<String> secrets = List.of(secret1, secret2, targetSecret);
    Path lun1 = image("lun1.img");
    Path lun2 = image("lun2.img");
    try (Tgtd tgtd = Tgtd.start(ISCSI_PORT, TGTD_CONTROL_INDEX, tmp)) {
      tgtd.addTarget(1, IQN1, lun1, INITIATOR, "user1", secret1);
      tgtd.addTarget(2, IQN2, lun2, INITIATOR, "user2", secret2);
      tgtd.addOutgoingAccount(2, "tgtuser2", targetSecret);
      tgtd.requireDiscoveryChap("user1");
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(8))
          .hostForward(CSI_PORT, NodePluginGuest.CSI_PORT)
          .script(PRELUDE + NodePluginGuest.script("vm-chap", "--iscsiadm=/tmp/iscsiadm-rec"))
          .start()) {
        NodePluginGuest guest = new NodePluginGuest(vm);
        vm.awaitConsole(NodePluginGuest.LISTENING, Duration.ofMinutes(4));
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT,
            InsecureChannelCredentials.create()).build();
        try {
          NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(ch);
          StringBuilder needles = new StringBuilder("rm -f /tmp/needles\n");
          secrets.forEach(s -> needles.append("echo ").append(s).append(" >> /tmp/needles\n"));
          assertThat(guest.run(needles + SAMPLER, Duration.ofSeconds(60)).exit()).isZero();

          stage(node, "pvc-chap-1", IQN1, false,
              Map.of("username", "user1", "password", secret1));
          stage(node, "pvc-mutual-2", IQN2, true, Map.of("username", "user2",
              "password", secret2, "username_in", "tgtuser2", "password_in", targetSecret));

          String samples = guest.run("touch /tmp/stop-sampler; sleep 1; cat /tmp/samples;"
              + " echo hits:; cat /tmp/cmdline-hits 2>/dev/null; true", Duration.ofSeconds(60))
              .out();
          assertThat(samples).as("cmdline samples and hits").matches("(?s)\\d+\\s+hits:\\s*");
          int sampleCount = Integer.parseInt(samples.strip().split("\\s+")[0]);
          assertThat(sampleCount).isPositive();
          System.out.printf("VM tier figures: %d /proc/*/cmdline samples while two volumes"
              + " staged, none with a secret%n", sampleCount);
          String argv = guest.run("cat /tmp/iscsiadm-argv.log", Duration.ofSeconds(60)).out();
          assertThat(argv).contains("-m discovery -t sendtargets -p " + PORTAL)
              .contains("-m discoverydb -t st -p " + PORTAL + " --discover -o nonpersistent")
              .contains("-m node -T " + IQN1 + " -p " + PORTAL + " --login")
              .contains("-m node -T " + IQN2 + " -p " + PORTAL + " --login");
          secrets.forEach(s -> assertThat(argv).doesNotContain(s));

          String files = guest.run("find /etc/iscsi/nodes /etc/iscsi/send_targets -mindepth 1"
              + " -exec stat -c '%a %F %n' {} +; true", Duration.ofSeconds(60)).out();
          assertThat(files).contains("/etc/iscsi/nodes/" + IQN1 + "/")
              .contains("/etc/iscsi/nodes/" + IQN2 + "/").doesNotContain("st_config");
          assertThat(files.lines().filter(l -> l.contains("regular"))).hasSize(2)
              .allMatch(l -> l.startsWith("600 "));
          assertThat(files.lines().filter(l -> l.contains("directory")))
              .isNotEmpty().allMatch(l -> l.startsWith("700 "));
          String record2 = guest.run("find /etc/iscsi/nodes/" + IQN2 + " -type f -exec cat {} +",
              Duration.ofSeconds(60)).out();
          assertThat(record2).contains("node.session.auth.authmethod = CHAP")
              .contains("node.session.auth.username_in = tgtuser2")
              .contains("node.session.auth.password_in = " + targetSecret);
          assertThat(guest.run("iscsiadm -m node -T " + IQN1 + " -p " + PORTAL + " -o show",
              Duration.ofSeconds(60)).out()).contains("node.startup = manual")
              .contains("node.session.auth.username = user1").doesNotContain(secret1);
          assertThat(guest.run("grep ' " + KUBELET + "pvc-chap-1/globalmount ' /proc/mounts",
              Duration.ofSeconds(60)).out()).contains("nosuid").contains("nodev");
          assertThat(tgtd.show()).contains("I_T nexus:");

          assertThat(vm.console())
              .contains("SendTargets discovery at " + PORTAL + " needs authentication")
              .contains("SendTargets discovery at " + PORTAL + " refused with the volume's CHAP"
                  + " credentials; logging in directly");

          unstage(node, "pvc-chap-1");
          unstage(node, "pvc-mutual-2");
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(guest.run("iscsiadm -m session; iscsiadm -m node; true",
              Duration.ofSeconds(60)).out()).contains("No active sessions")
              .contains("No records found");
        } finally {
          ch.shutdownNow();
          guest.stop();
        }
        assertThat(vm.awaitExit(Duration.ofMinutes(1))).isZero();
        System.out.printf("VM tier figures: NodePluginChapVmIT whole VM run %d s%n",
            vm.elapsed().toSeconds());
        String console = vm.console();
        assertThat(console).contains("DEBUG");
        secrets.forEach(s -> assertThat(console).doesNotContain(s));
      }
    }
  }

  private Path image(String name) throws Exception {
    return image(tmp, name);
  }

  /** A sparse 32 MiB LUN file {@code name} in {@code dir}. */
  static Path image(Path dir, String name) throws java.io.IOException {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(32L << 20);
    }
    return p;
  }

  /** {@code prefix} and 14 random hex digits: a secret or token no other run shares. */
  static String random(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().replace("-", "").substring(0, 14);
  }

  private static void stage(NodeGrpc.NodeBlockingStub node, String id, String iqn,
      boolean discoveryChap, Map<String, String> secrets) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId(id)
            .putAllPublishContext(Map.of("targetIqn", iqn, "portals", PORTAL, "lun", "1",
                "chap", "true", "discoveryChap", Boolean.toString(discoveryChap)))
            .setStagingTargetPath(KUBELET + id + "/globalmount")
            .setVolumeCapability(NodePluginVmIT.mountCap()).putAllSecrets(secrets).build());
  }

  private static void unstage(NodeGrpc.NodeBlockingStub node, String id) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnstageVolume(
        Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId(id)
            .setStagingTargetPath(KUBELET + id + "/globalmount").build());
  }
}
