package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the VM tier end to end with the real Linux kernel initiator (open-iscsi in the qemu
 * guest) against a real target on the host, Debian's tgtd, which grants LUN 1 only to the guest's
 * initiator name and only with CHAP. The guest runs {@code node-plugin/vm/examples/
 * chap-workflow.sh}, what an administrator does by hand:
 *
 * <ul>
 *   <li>SendTargets discovery lists the target;
 *   <li>a wrong CHAP secret fails with open-iscsi's exit code 24 (authorization failure) and
 *       leaves no session;
 *   <li>login with the right secret, the disk appears under /dev/disk/by-path, mkfs.ext4, mount by
 *       filesystem UUID, write, unmount, logout (no session left);
 *   <li>login again, mount by the same UUID and read the data back;
 * </ul>
 *
 * <p>and then {@code java -version} of the host JDK shared into the guest. On the host the test
 * checks what really reached the target: tgtd's backing file holds an ext4 superblock with the UUID
 * the guest reported and the token the guest wrote, tgtd holds no session afterwards, and the
 * console never shows the CHAP secret.
 */
class KernelInitiatorVmTest {

  private static final int ISCSI_PORT = ServeProcess.freePort();
  private static final int TGTD_CONTROL_INDEX = 13461;
  private static final String TARGET = "iqn.2026-11.org.iscsicsi:vm-test-tgt";
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-test-initiator";

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuAndTgt() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(Tgtd.unavailableReason().isEmpty(), () -> Tgtd.unavailableReason().get());
  }

  @Test
  void chapLoginFormatMountReloginAndSharedJdkRuns() throws Exception {
    Path lun = tmp.resolve("lun1.img");
    try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "rw")) {
      f.setLength(64L << 20); // sparse
    }
    String secret = "s3cret-" + UUID.randomUUID().toString().substring(0, 12);
    String token = "token-" + UUID.randomUUID();

    try (Tgtd tgtd = Tgtd.start(ISCSI_PORT, TGTD_CONTROL_INDEX, tmp)) {
      tgtd.addTarget(1, TARGET, lun, INITIATOR, "vmuser", secret);
      String console;
      try (QemuVm vm = QemuVm.builder()
          .initiatorName(INITIATOR)
          .timeout(Duration.ofMinutes(6))
          .env("PORTAL", QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT)
          .env("TARGET", TARGET)
          .env("CHAP_USER", "vmuser")
          .env("CHAP_SECRET", secret)
          .env("TOKEN", token)
          .script("""
              sh /repo/node-plugin/vm/examples/chap-workflow.sh || exit $?
              java -version 2>&1 | sed 's/^/JAVA: /'
              """)
          .start()) {
        int exit = vm.awaitExit(Duration.ofMinutes(7));
        console = vm.console();
        assertThat(exit).as("guest exit code; console:%n%s", console).isZero();
        System.out.printf("VM figures: guest booted to its script in %.2f s, workflow %s s,"
                + " whole VM run %d s%n", vm.guestBootSeconds().orElse(-1.0),
            fact(console, "WORKFLOW_SECONDS"), vm.elapsed().toSeconds());
      }

      assertThat(console).contains("WORKFLOW discovery ok");
      assertThat(fact(console, "WRONG_CHAP_EXIT")).isEqualTo("24");
      assertThat(fact(console, "SESSIONS_AFTER_WRONG_CHAP")).isEqualTo("0");
      assertThat(fact(console, "SESSIONS_AFTER_LOGOUT")).isEqualTo("0");
      assertThat(fact(console, "READ_BACK")).isEqualTo(token);
      assertThat(console).containsPattern("JAVA: openjdk version \"25[.\"]");
      assertThat(console).doesNotContain(secret);

      // What reached the target: ext4 superblock (magic 0xEF53 at byte 1080) with the UUID the
      // guest mounted by, and the token in the file data.
      byte[] image = Files.readAllBytes(lun);
      ByteBuffer sb = ByteBuffer.wrap(image, 1024, 1024).slice().order(ByteOrder.LITTLE_ENDIAN);
      assertThat(sb.getShort(0x38) & 0xffff).isEqualTo(0xEF53);
      byte[] uuid = new byte[16];
      sb.get(0x68, uuid);
      assertThat(HexFormat.of().formatHex(uuid))
          .isEqualTo(fact(console, "FS_UUID").replace("-", ""));
      assertThat(new String(image, StandardCharsets.ISO_8859_1)).contains(token);

      assertThat(tgtd.show()).as("tgtd sessions after the VM logged out")
          .doesNotContain("I_T nexus:");
    }
  }

  /** The value of a {@code KEY=value} line the guest printed. */
  private static String fact(String console, String key) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=(.*)$").matcher(console);
    assertThat(m.find()).as("console line %s=...", key).isTrue();
    return m.group(1).trim();
  }
}
