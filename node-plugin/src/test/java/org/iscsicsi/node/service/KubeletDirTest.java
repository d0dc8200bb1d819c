package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the path guard without root: request paths must be absolute, normalized and strictly
 * below the kubelet directory; a symbolic link in any existing component below the root is
 * refused (pointing inside or outside the root alike), while a link above the root is allowed;
 * directories and files are created without following a link, and nothing is created through
 * one.
 */
class KubeletDirTest {

  @TempDir Path tmp;
  private Path root;
  private KubeletDir dir;

  @BeforeEach
  void setUp() throws Exception {
    root = Files.createDirectories(tmp.resolve("var/lib/kubelet"));
    dir = new KubeletDir(root);
  }

  private static Status.Code code(ThrowingRunnable r) {
    try {
      r.run();
      return Status.Code.OK;
    } catch (CsiException e) {
      return e.code();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void acceptsPathsBelowTheRootOnly() throws Exception {
    String ok = root + "/pods/p1/volumes/kubernetes.io~csi/pv/mount";
    assertThat(dir.requestPath("target_path", ok)).isEqualTo(Path.of(ok));
    for (String bad : new String[] {"/etc", root.toString(), root + "/../kubelet-other/x",
        root + "/pods/../../../etc/shadow", "relative/path", root + "-evil/pods/x",
        tmp.toString()}) {
      assertThatThrownBy(() -> dir.requestPath("target_path", bad))
          .as(bad).isInstanceOfSatisfying(CsiException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains("target_path");
          });
    }
  }

  @Test
  void aLinkBelowTheRootIsRefusedWhereverItPoints() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("etc"));
    Files.createDirectories(root.resolve("pods/p1"));
    Files.createSymbolicLink(root.resolve("pods/p1/volumes"), outside);
    Files.createSymbolicLink(root.resolve("pods/p2"), root.resolve("pods/p1"));
    for (String p : new String[] {root + "/pods/p1/volumes/x/mount", root + "/pods/p1/volumes",
        root + "/pods/p2/volumes"}) {
      assertThatThrownBy(() -> dir.requestPath("staging_target_path", p)).as(p)
          .isInstanceOfSatisfying(CsiException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains("symbolic link");
          });
    }
    assertThat(code(() -> dir.createDirectories(root.resolve("pods/p1/volumes/x/mount"))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> dir.createFile(root.resolve("pods/p1/volumes/dev"))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    try (var s = Files.list(outside)) {
      assertThat(s).as("nothing created through the link").isEmpty();
    }
  }

  @Test
  void aLinkAboveTheRootIsAllowed() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("kubelet-link"), root);
    KubeletDir viaLink = new KubeletDir(link);
    Path mount = link.resolve("pods/p1/mount");
    viaLink.createDirectories(mount);
    viaLink.requireDirectory(mount);
    assertThat(root.resolve("pods/p1/mount")).isDirectory();
  }

  @Test
  void createsDirectoriesAndFilesAndChecksWhatIsThere() throws Exception {
    Path mount = root.resolve("pods/p1/volumes/kubernetes.io~csi/pv/mount");
    dir.createDirectories(mount);
    dir.createDirectories(mount); // idempotent
    dir.requireDirectory(mount);
    Path dev = root.resolve("pods/p2/volumeDevices/pv");
    dir.createFile(dev);
    dir.createFile(dev); // idempotent
    dir.requireRegularFile(dev);
    assertThat(code(() -> dir.requireDirectory(dev))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> dir.requireRegularFile(mount))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> dir.createDirectories(dev.resolve("sub"))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    // A mount point replaced by a link after it was created is caught before the mount.
    Files.delete(dev);
    Files.createSymbolicLink(dev, tmp);
    assertThat(code(() -> dir.requireRegularFile(dev))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> dir.createFile(dev))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(Files.isSymbolicLink(dev)).isTrue();
    assertThat(Files.exists(dev, LinkOption.NOFOLLOW_LINKS)).isTrue();
  }
}
