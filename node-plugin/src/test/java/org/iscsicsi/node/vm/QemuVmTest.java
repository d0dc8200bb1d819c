package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pins the mechanics of the VM tier ({@link QemuVm} and {@code node-plugin/vm/run-vm.sh}) with a
 * real qemu guest: the guest script's exit code comes back to the host, the control directory is
 * shared read-write both ways while the VM runs, a host port forwards to a guest TCP port, the
 * hard timeout kills a VM that runs too long, and {@link QemuVm#close()} leaves no qemu behind.
 */
class QemuVmTest {

  /** Host port forwarded into the guest: a free one, so that runs side by side do not collide. */
  private static final int FORWARDED_PORT = ServeProcess.freePort();

  @BeforeAll
  static void needsQemu() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
  }

  @Test
  void controlDirectoryAndPortForwardWorkWhileRunningAndExitCodeComesBack() throws Exception {
    String token = UUID.randomUUID().toString();
    try (QemuVm vm = QemuVm.builder()
        .hostForward(FORWARDED_PORT, 7000)
        .timeout(Duration.ofMinutes(4))
        .script("""
            echo guest-wrote >/ctl/from-guest
            echo GUEST-READY
            until [ -e /ctl/go ]; do sleep 0.2; done
            echo "payload-$(cat /ctl/go)" | nc -l -p 7000
            exit 7
            """)
        .start()) {
      vm.awaitConsole("GUEST-READY", Duration.ofMinutes(3));
      assertThat(Files.readString(vm.controlDir().resolve("from-guest")).trim())
          .isEqualTo("guest-wrote");
      Files.writeString(vm.controlDir().resolve("go"), token);

      assertThat(readForwarded(Duration.ofSeconds(60))).isEqualTo("payload-" + token);
      assertThat(vm.awaitExit(Duration.ofSeconds(60))).isEqualTo(7);
      assertThat(vm.console()).contains("ISCSI-VM-EXIT-CODE=7");
      assertThat(vm.guestBootSeconds()).isPresent();
      System.out.printf("VM figures: guest booted to its script in %.2f s, whole run %d s%n",
          vm.guestBootSeconds().get(), vm.elapsed().toSeconds());
    }
  }

  /**
   * The real tools the node plugin calls (util-linux, e2fsprogs, xfsprogs under dash, not busybox
   * look-alikes) work in the guest, and ext4/xfs load on demand: format, mount by UUID, grow the
   * device and the mounted file system online, change the UUID.
   */
  @Test
  void realFileSystemToolsWorkInTheGuest() throws Exception {
    try (QemuVm vm = QemuVm.builder().timeout(Duration.ofMinutes(5)).script("""
        set -e
        mount --version | sed 's/^/MOUNT: /'
        grow() { truncate -s "$2" "$1"; losetup -c "$(losetup -j "$1" | cut -d: -f1)"; }
        # ext4: mkfs, mount by UUID, online resize2fs, new UUID while unmounted.
        truncate -s 64M /dev/shm/e.img
        d=$(losetup -f --show /dev/shm/e.img)
        mkfs.ext4 -q "$d"
        u=$(blkid -o value -s UUID "$d")
        mkdir -p /mnt/e && mount UUID="$u" /mnt/e
        echo "EXT4_KB_BEFORE=$(df -k /mnt/e | awk 'NR==2{print $2}')"
        grow /dev/shm/e.img 96M
        resize2fs "$d" >/dev/null 2>&1
        echo "EXT4_KB=$(df -k /mnt/e | awk 'NR==2{print $2}')"
        umount /mnt/e
        e2fsck -fp "$d" >/dev/null  # tune2fs -U wants a freshly checked file system
        tune2fs -U random "$d" >/dev/null
        [ "$(blkid -o value -s UUID "$d")" != "$u" ] && echo EXT4_UUID_CHANGED
        # xfs (needs 300 MiB): mkfs, mount by UUID, online xfs_growfs, new UUID.
        truncate -s 320M /dev/shm/x.img
        d=$(losetup -f --show /dev/shm/x.img)
        mkfs.xfs -q "$d"
        u=$(blkid -o value -s UUID "$d")
        mkdir -p /mnt/x && mount UUID="$u" /mnt/x
        echo "XFS_KB_BEFORE=$(df -k /mnt/x | awk 'NR==2{print $2}')"
        grow /dev/shm/x.img 400M
        xfs_growfs /mnt/x >/dev/null
        echo "XFS_KB=$(df -k /mnt/x | awk 'NR==2{print $2}')"
        umount /mnt/x
        xfs_admin -U generate "$d" >/dev/null
        [ "$(blkid -o value -s UUID "$d")" != "$u" ] && echo XFS_UUID_CHANGED
        lsmod | awk '$1 == "ext4" || $1 == "xfs" {print "MODULE " $1}'
        """).start()) {
      int exit = vm.awaitExit(Duration.ofMinutes(5));
      String console = vm.console();
      assertThat(exit).as("console:%n%s", console).isZero();
      assertThat(console).contains("MOUNT: mount from util-linux", "EXT4_UUID_CHANGED",
          "XFS_UUID_CHANGED", "MODULE ext4", "MODULE xfs");
      // Grown by a third (64 -> 96 MiB) and a quarter (320 -> 400 MiB), minus metadata.
      assertThat(kib(console, "EXT4_KB")).isGreaterThan(kib(console, "EXT4_KB_BEFORE") * 5 / 4);
      assertThat(kib(console, "XFS_KB")).isGreaterThan(kib(console, "XFS_KB_BEFORE") * 6 / 5);
    }
  }

  private static long kib(String console, String key) {
    Matcher m = Pattern.compile("(?m)^" + key + "=([0-9]+)").matcher(console);
    assertThat(m.find()).as(key).isTrue();
    return Long.parseLong(m.group(1));
  }

  @Test
  void hardTimeoutKillsTheVm() throws Exception {
    try (QemuVm vm = QemuVm.builder().timeout(Duration.ofSeconds(3)).script("sleep 600")
        .start()) {
      assertThat(vm.awaitExit(Duration.ofSeconds(90))).isEqualTo(QemuVm.EXIT_TIMEOUT);
      assertThat(qemuProcessesOf(vm.controlDir())).isEmpty();
    }
  }

  @Test
  void closeKillsARunningVm() throws Exception {
    Path ctl;
    try (QemuVm vm = QemuVm.builder().timeout(Duration.ofMinutes(4))
        .script("echo SLEEPING; sleep 600").start()) {
      ctl = vm.controlDir();
      vm.awaitConsole("SLEEPING", Duration.ofMinutes(3));
      assertThat(qemuProcessesOf(ctl)).hasSize(1);
      assertThat(vm.isRunning()).isTrue();
    }
    assertThat(qemuProcessesOf(ctl)).isEmpty();
    assertThat(ctl).doesNotExist();
  }

  /** Live qemu processes whose command line names this VM's control directory. */
  private static List<ProcessHandle> qemuProcessesOf(Path ctl) {
    return ProcessHandle.allProcesses()
        .filter(ProcessHandle::isAlive)
        .filter(p -> p.info().command().orElse("").endsWith("qemu-system-x86_64"))
        .filter(p -> p.info().commandLine().orElse("").contains(ctl.toString()))
        .toList();
  }

  /**
   * qemu accepts on the forwarded port before the guest listens and then drops the connection, so
   * retry until the guest's answer arrives.
   */
  private static String readForwarded(Duration timeout) {
    return await("an answer on the forwarded port").atMost(timeout)
        .pollInterval(Duration.ofMillis(300))
        .ignoreException(IOException.class) // not listening yet
        .until(QemuVmTest::readForwardedOnce, got -> !got.isEmpty());
  }

  private static String readForwardedOnce() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", FORWARDED_PORT), 2000);
      s.setSoTimeout(5000);
      try (InputStream in = s.getInputStream()) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
    }
  }
}
