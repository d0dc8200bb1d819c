package org.iscsicsi.node.service;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.fs.FsException;
import org.iscsicsi.node.fs.MountEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishing a staged volume into a pod (CSI spec NodePublishVolume, NodeUnpublishVolume): a bind
 * mount of the staging directory (filesystem) or of the device file (block), read-only when
 * asked, nosuid and nodev (block: nosuid) unless the mount flags say {@code suid} / {@code dev}.
 * The target path is created below the kubelet directory without following links, and checked
 * to be a real directory or file just before the mount. Idempotent: an identical existing
 * publication succeeds, a different one is ALREADY_EXISTS.
 */
public final class VolumePublisher {

  private static final Logger log = LoggerFactory.getLogger(VolumePublisher.class);

  private final VolumeStager stager;
  private final VolumeAttacher attacher;
  private final Filesystems fs;
  private final Mounts mounts;
  private final Sysfs sysfs;
  private final KubeletDir kubeletDir;

  public VolumePublisher(VolumeStager stager, VolumeAttacher attacher, Filesystems fs,
      Mounts mounts, Sysfs sysfs, KubeletDir kubeletDir) {
    this.kubeletDir = kubeletDir;
    this.stager = stager;
    this.attacher = attacher;
    this.fs = fs;
    this.mounts = mounts;
    this.sysfs = sysfs;
  }

  /**
   * @param requestedReadOnly asked for by the request; a volume staged read-only (write-protected
   * by its target, or read-only in publish_context) is published read-only in any case
   * @param mountFlags the publish capability's mount flags (already validated)
   */
  public void publish(String volumeId, Path stagingPath, Path targetPath, boolean block,
      boolean requestedReadOnly, List<String> mountFlags) throws CsiException {
    StagedVolume rec = stager.load(volumeId).orElseThrow(() -> new CsiException(
        Status.Code.NOT_FOUND, "volume " + volumeId + " is not staged on this node"));
    boolean readOnly = requestedReadOnly || rec.readOnly();
    if (rec.block() != block) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " was staged"
          + " for " + (rec.block() ? "block" : "filesystem") + " access, publish asks for "
          + (block ? "block" : "filesystem"));
    }
    if (!rec.stagingPath().equals(stagingPath)) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " is staged"
          + " at " + rec.stagingPath() + ", not at " + stagingPath);
    }
    Path source;
    String sourceMajMin;
    if (block) {
      VolumeSource vs = rec.source();
      source = attacher.device(vs).orElseThrow(() -> new CsiException(
          Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " has no disk on this node: "
              + attacher.problem(vs).orElse("unknown") + "; stage it again"));
      sourceMajMin = sysfs.majorMinor(source.getFileName().toString()).orElse("?");
    } else {
      MountEntry staged = mounts.at(stagingPath).orElseThrow(() -> new CsiException(
          Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " is not mounted at its"
              + " staging path " + stagingPath + "; stage it again"));
      source = stagingPath;
      sourceMajMin = staged.majorMinor();
    }
    Optional<MountEntry> existing = mounts.at(targetPath);
    if (existing.isPresent()) {
      MountEntry m = existing.get();
      // A bound device file shows devtmpfs's own MAJOR:MINOR in mountinfo; what is published
      // there is the device number of the file itself.
      String published = block ? deviceNumber(targetPath).orElse("?") : m.majorMinor();
      if (published.equals(sourceMajMin) && m.readOnly() == readOnly) {
        return;
      }
      throw new CsiException(Status.Code.ALREADY_EXISTS, "target path " + targetPath + " already"
          + " has " + m.source() + (m.readOnly() ? " (read-only)" : "") + " mounted, not volume "
          + volumeId + (readOnly ? " read-only" : ""));
    }
    try {
      if (block) {
        if (Files.isDirectory(targetPath, LinkOption.NOFOLLOW_LINKS)) {
          throw CsiException.invalid("target path " + targetPath + " is a directory; block"
              + " volumes are published on a file");
        }
        kubeletDir.createFile(targetPath);
        kubeletDir.requireRegularFile(targetPath);
      } else {
        if (Files.exists(targetPath, LinkOption.NOFOLLOW_LINKS)
            && !Files.isDirectory(targetPath, LinkOption.NOFOLLOW_LINKS)) {
          throw CsiException.invalid("target path " + targetPath + " exists and is not a"
              + " directory");
        }
        kubeletDir.createDirectories(targetPath);
        kubeletDir.requireDirectory(targetPath);
        kubeletDir.requireDirectory(source);
      }
      fs.bind(source, targetPath, MountOptions.bind(mountFlags, block, readOnly));
      log.info("volume {} published at {}{}", volumeId, targetPath, readOnly ? " (ro)" : "");
    } catch (IOException | FsException e) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": publishing at "
          + targetPath + " failed: " + e.getMessage(), e);
    }
  }

  /** MAJOR:MINOR of the block device file at {@code path} (stat(2) st_rdev), if it is one. */
  static Optional<String> deviceNumber(Path path) {
    try {
      if (Files.getAttribute(path, "unix:mode") instanceof Integer mode
          && (mode & 0170000) == 0060000
          && Files.getAttribute(path, "unix:rdev") instanceof Long rdev) {
        // glibc's gnu_dev_major/gnu_dev_minor encoding of a 64-bit dev_t.
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        return Optional.of(major + ":" + minor);
      }
      return Optional.empty();
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("no device number for {}: {}", path, e.toString());
      return Optional.empty();
    }
  }

  public void unpublish(String volumeId, Path targetPath) throws CsiException {
    kubeletDir.checkNoLinks(targetPath);
    try {
      for (int i = 0; i < 8 && mounts.at(targetPath).isPresent(); i++) {
        fs.unmount(targetPath);
      }
      Files.deleteIfExists(targetPath);
      log.info("volume {} unpublished from {}", volumeId, targetPath);
    } catch (DirectoryNotEmptyException e) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "target path " + targetPath
          + " is not a mount point and not empty; leaving it alone");
    } catch (IOException | FsException e) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": unpublishing "
          + targetPath + " failed: " + e.getMessage(), e);
    }
  }
}
