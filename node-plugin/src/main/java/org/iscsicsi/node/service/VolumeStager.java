package org.iscsicsi.node.service;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.fs.FsException;
import org.iscsicsi.node.fs.FsProbe;
import org.iscsicsi.node.fs.MountEntry;
import org.iscsicsi.node.fs.StatVfs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staging, unstaging, expansion and health of volumes on this node (CSI spec NodeStageVolume,
 * NodeUnstageVolume, NodeExpandVolume, NodeGetVolumeStats). Stage is idempotent and repairs what a
 * reconnect breaks: a staging mount whose disk is gone, was replaced, or went read-only is
 * unmounted and mounted again. The staging mount is nosuid and nodev unless the mount flags say
 * {@code suid} / {@code dev}, on a directory created below the kubelet directory without following
 * links. A blank disk is formatted once; a disk that holds something else is never formatted; a
 * disk the target write-protects is staged read-only. Unstage always logs out, even when the disk
 * is already gone.
 */
public final class VolumeStager {

  private static final Logger log = LoggerFactory.getLogger(VolumeStager.class);

  /** A stage request, already validated. */
  public record StageRequest(String volumeId, Path stagingPath, Map<String, String> publishContext,
      Map<String, String> secrets, boolean block, String fsType, List<String> mountFlags,
      boolean readOnly) {

    /** The same request, read-only (the disk turned out to be write-protected). */
    StageRequest readOnlyCopy() {
      return new StageRequest(volumeId, stagingPath, publishContext, secrets, block, fsType,
          mountFlags, true);
    }
  }

  private final VolumeAttacher attacher;
  private final Filesystems fs;
  private final Mounts mounts;
  private final StateStore state;
  private final Sysfs sysfs;
  private final Duration resizeWait;
  private final KubeletDir kubeletDir;

  public VolumeStager(VolumeAttacher attacher, Filesystems fs, Mounts mounts, StateStore state,
      Sysfs sysfs, Duration resizeWait, KubeletDir kubeletDir) {
    this.kubeletDir = kubeletDir;
    this.attacher = attacher;
    this.fs = fs;
    this.mounts = mounts;
    this.state = state;
    this.sysfs = sysfs;
    this.resizeWait = resizeWait;
  }

  public void stage(StageRequest r) throws CsiException {
    VolumeSource source;
    try {
      source = VolumeSource.fromPublishContext(r.publishContext());
    } catch (IllegalArgumentException e) {
      throw CsiException.invalid("volume " + r.volumeId() + ": " + e.getMessage());
    }
    if (Files.exists(r.stagingPath(), LinkOption.NOFOLLOW_LINKS)
        && !Files.isDirectory(r.stagingPath(), LinkOption.NOFOLLOW_LINKS)) {
      throw CsiException.invalid("staging path " + r.stagingPath() + " is not a directory");
    }
    boolean wasStaged = load(r.volumeId()).isPresent();
    Optional<MountEntry> existing = mounts.at(r.stagingPath());
    StagedVolume rec = new StagedVolume(r.volumeId(), r.stagingPath(), r.publishContext(),
        r.block(), r.block() ? "" : r.fsType(), r.readOnly());
    // Recorded before login, so that unstage can log out even if this call dies half-way.
    save(rec);
    Path device;
    try {
      device = attacher.attach(r.volumeId(), source, r.secrets());
    } catch (CsiException e) {
      if (!wasStaged) {
        deleteState(r.volumeId());
      }
      throw e;
    }
    try {
      if (!r.readOnly() && sysfs.readOnly(device.getFileName().toString())) {
        log.info("volume {}: the target write-protects {}; staging it read-only", r.volumeId(),
            device);
        r = r.readOnlyCopy();
        rec = new StagedVolume(rec.volumeId(), rec.stagingPath(), rec.publishContext(),
            rec.block(), rec.fsType(), true);
        save(rec);
      }
      if (r.block()) {
        log.info("volume {} staged for block access on {}", r.volumeId(), device);
        return;
      }
      mountFilesystem(r, device, existing, rec);
    } catch (CsiException e) {
      if (!wasStaged) {
        rollback(r.volumeId(), source);
      }
      throw e;
    }
  }

  private void mountFilesystem(StageRequest r, Path device, Optional<MountEntry> existing,
      StagedVolume rec) throws CsiException {
    String majMin = sysfs.majorMinor(device.getFileName().toString()).orElse("?");
    if (existing.isPresent()) {
      MountEntry m = existing.get();
      if (m.majorMinor().equals(majMin) && (r.readOnly() || !m.readOnly())) {
        // Record what is really mounted (a pre-existing filesystem may differ from the request).
        save(new StagedVolume(rec.volumeId(), rec.stagingPath(), rec.publishContext(), false,
            m.fsType(), r.readOnly()));
        log.info("volume {} already staged at {} from {}", r.volumeId(), r.stagingPath(), device);
        return;
      }
      String why = !m.majorMinor().equals(majMin)
          ? "its device " + m.source() + " (" + m.majorMinor() + ") is not the volume's disk "
              + device + " (" + majMin + ") any more"
          : "the filesystem went read-only (I/O errors during a target outage?)";
      log.warn("volume {}: stale staging mount at {}: {}; unmounting and mounting again",
          r.volumeId(), r.stagingPath(), why);
      unmount(r.stagingPath());
    }
    try {
      FsProbe probe = fs.probe(device);
      if (probe.blank() && sysfs.readOnly(device.getFileName().toString())) {
        throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + r.volumeId()
            + ": disk " + device + " is blank but the target write-protects it, so it cannot"
            + " be formatted: format it once while it is writable");
      }
      if (probe.blank()) {
        log.info("volume {}: {} is blank, creating {}", r.volumeId(), device, r.fsType());
        fs.format(device, r.fsType());
        probe = fs.probe(device);
      } else if (probe.type().isEmpty() || !Filesystems.SUPPORTED.contains(probe.type().get())) {
        throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + r.volumeId()
            + ": disk " + device + " holds " + probe.type().or(probe::ptType).map(t -> "'" + t
            + "'").orElse("unknown data") + ", not a filesystem this driver mounts ("
            + Filesystems.SUPPORTED + "); refusing to format it");
      } else if (!probe.type().get().equals(r.fsType())) {
        log.warn("volume {}: disk {} already holds {} (asked for {}); mounting it as is",
            r.volumeId(), device, probe.type().get(), r.fsType());
      }
      String type = probe.type().orElseThrow();
      String uuid = probe.uuid().orElseThrow(() -> new FsException(device + " has no UUID"));
      uuid = uniqueUuid(r.volumeId(), device, type, uuid);
      if (type.equals("ext4") && !r.readOnly()) {
        fs.checkExt4(device);
      }
      kubeletDir.createDirectories(r.stagingPath());
      kubeletDir.requireDirectory(r.stagingPath());
      fs.mountByUuid(uuid, r.stagingPath(), type,
          MountOptions.staging(r.mountFlags(), r.readOnly()));
      MountEntry m = mounts.at(r.stagingPath()).orElseThrow(
          () -> new FsException("mount of " + device + " at " + r.stagingPath() + " vanished"));
      if (!m.majorMinor().equals(majMin)) {
        unmount(r.stagingPath());
        throw new CsiException(Status.Code.INTERNAL, "UUID=" + uuid + " mounted " + m.source()
            + " instead of " + device + " for volume " + r.volumeId());
      }
      save(new StagedVolume(rec.volumeId(), rec.stagingPath(), rec.publishContext(), false, type,
          r.readOnly()));
      log.info("volume {} staged: {} ({} UUID={}) at {}", r.volumeId(), device, type, uuid,
          r.stagingPath());
    } catch (FsException | IOException e) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + r.volumeId() + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * A clone or restored snapshot carries its source's filesystem UUID. If another disk on this
   * host carries the same UUID, give this one a fresh UUID so both mount side by side.
   */
  private String uniqueUuid(String volumeId, Path device, String type, String uuid)
      throws FsException, IOException {
    // The same disk under another name (/dev/mapper/NAME for dm-N), and a multipath map's own
    // paths, show its filesystem too: compared by device number, not by name.
    java.util.Set<Object> self = new java.util.HashSet<>(List.of(deviceNumber(device)));
    for (String slave : sysfs.slaves(device.toRealPath().getFileName().toString())) {
      self.add(deviceNumber(sysfs.devRoot().resolve(slave)));
    }
    List<Path> others = new ArrayList<>();
    for (Path p : fs.devicesWithUuid(uuid)) {
      if (!self.contains(deviceNumber(p))) {
        others.add(p);
      }
    }
    if (others.isEmpty()) {
      return uuid;
    }
    log.info("volume {}: {} shares filesystem UUID {} with {} (a clone?); giving it a new UUID",
        volumeId, device, uuid, others);
    fs.regenerateUuid(device, type);
    return fs.probe(device).uuid().orElseThrow(() -> new FsException(device + " lost its UUID"));
  }

  /** The device number of a device file (its real path where the file system has none). */
  private static Object deviceNumber(Path device) throws IOException {
    try {
      return Files.getAttribute(device, "unix:rdev");
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return device.toRealPath();
    }
  }

  public void unstage(String volumeId, Path stagingPath) throws CsiException {
    kubeletDir.checkNoLinks(stagingPath);
    Optional<StagedVolume> rec = load(volumeId);
    Optional<VolumeSource> source = Optional.empty();
    if (rec.isPresent()) {
      try {
        source = Optional.of(rec.get().source());
      } catch (IllegalArgumentException e) {
        throw new CsiException(Status.Code.INTERNAL, "state of volume " + volumeId
            + " is unreadable: " + e.getMessage());
      }
    }
    if (mounts.at(stagingPath).isPresent()) {
      if (source.isPresent()) {
        attacher.beforeUnmount(volumeId, source.get());
      }
      unmount(stagingPath);
    }
    if (source.isPresent()) {
      // Always log out by IQN and portal, whether or not the disk still exists.
      attacher.detach(volumeId, source.get());
    }
    try {
      state.delete(volumeId);
    } catch (IOException e) {
      throw new CsiException(Status.Code.INTERNAL, "cannot delete the state of " + volumeId, e);
    }
    log.info("volume {} unstaged from {}", volumeId, stagingPath);
  }

  /** Rescans, waits for the disk to reach {@code requiredBytes}, grows the filesystem. */
  public long expand(String volumeId, long requiredBytes) throws CsiException {
    StagedVolume rec = load(volumeId).orElseThrow(() -> new CsiException(Status.Code.NOT_FOUND,
        "volume " + volumeId + " is not staged on this node"));
    VolumeSource source = rec.source();
    attacher.rescan(source);
    Path device = attacher.device(source).orElseThrow(() -> new CsiException(
        Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " has no disk on this node: "
            + attacher.problem(source).orElse("unknown")));
    String name = device.getFileName().toString();
    long deadline = System.nanoTime() + resizeWait.toNanos();
    long size = sysfs.sizeBytes(name);
    while (size < requiredBytes && System.nanoTime() < deadline) {
      sleep();
      size = sysfs.sizeBytes(name);
    }
    if (size < requiredBytes) {
      throw new CsiException(Status.Code.UNAVAILABLE, "volume " + volumeId + ": disk " + device
          + " is still " + size + " bytes after a rescan, " + requiredBytes + " requested (has"
          + " ControllerExpandVolume finished?)");
    }
    if (rec.block()) {
      return size;
    }
    try {
      boolean mounted = mounts.at(rec.stagingPath()).isPresent();
      switch (rec.fsType()) {
        case "ext4" -> fs.growExt4(device, mounted);
        case "xfs" -> {
          if (!mounted) {
            throw new CsiException(Status.Code.FAILED_PRECONDITION, "xfs grows only while"
                + " mounted; volume " + volumeId + " is not mounted at " + rec.stagingPath());
          }
          fs.growXfs(rec.stagingPath());
        }
        default -> throw new CsiException(Status.Code.INTERNAL, "cannot grow a '"
            + rec.fsType() + "' filesystem");
      }
    } catch (FsException e) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + e.getMessage(),
          e);
    }
    log.info("volume {} expanded to {} bytes", volumeId, size);
    return size;
  }

  /** Usage of the volume at {@code path} and its condition. */
  public record Stats(Optional<StatVfs> fs, long deviceBytes, Optional<String> problem) {}

  public Stats stats(String volumeId, Path path) throws CsiException {
    StagedVolume rec = load(volumeId).orElseThrow(() -> new CsiException(Status.Code.NOT_FOUND,
        "volume " + volumeId + " is not staged on this node"));
    if (!Files.exists(path)) {
      throw new CsiException(Status.Code.NOT_FOUND, "volume path " + path + " does not exist");
    }
    VolumeSource source = rec.source();
    Optional<String> problem = attacher.problem(source);
    long devBytes = attacher.device(source)
        .map(d -> sysfs.sizeBytes(d.getFileName().toString())).orElse(-1L);
    if (rec.block() || !Files.isDirectory(path)) {
      return new Stats(Optional.empty(), devBytes, problem);
    }
    try {
      StatVfs st = StatVfs.of(path);
      if (problem.isEmpty() && mounts.at(rec.stagingPath()).map(MountEntry::readOnly)
          .orElse(false) && !rec.readOnly()) {
        problem = Optional.of("the filesystem went read-only (I/O errors?); the next"
            + " NodeStageVolume remounts it");
      }
      return new Stats(Optional.of(st), devBytes, problem);
    } catch (FsException e) {
      throw new CsiException(Status.Code.INTERNAL, e.getMessage(), e);
    }
  }

  public Optional<StagedVolume> load(String volumeId) throws CsiException {
    try {
      return state.load(volumeId);
    } catch (IOException | IllegalArgumentException e) {
      throw new CsiException(Status.Code.INTERNAL, "cannot read the state of volume " + volumeId
          + ": " + e.getMessage(), e);
    }
  }

  private void save(StagedVolume v) throws CsiException {
    try {
      state.save(v);
    } catch (IOException e) {
      throw new CsiException(Status.Code.INTERNAL, "cannot record volume " + v.volumeId(), e);
    }
  }

  private void rollback(String volumeId, VolumeSource source) {
    try {
      attacher.detach(volumeId, source);
      state.delete(volumeId);
    } catch (CsiException | IOException e) {
      log.warn("volume {}: rollback after a failed stage: {}", volumeId, e.getMessage());
    }
  }

  private void deleteState(String volumeId) {
    try {
      state.delete(volumeId);
    } catch (IOException e) {
      log.warn("volume {}: cannot delete its state: {}", volumeId, e.toString());
    }
  }

  private void unmount(Path p) throws CsiException {
    try {
      fs.unmount(p);
    } catch (FsException e) {
      throw new CsiException(Status.Code.INTERNAL, e.getMessage()
          + " (is it still in use, or published somewhere?)", e);
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
