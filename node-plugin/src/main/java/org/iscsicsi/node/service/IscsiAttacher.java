package org.iscsicsi.node.service;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.csi.contract.ChapSecret;
import org.iscsicsi.node.device.DeviceIdentity;
import org.iscsicsi.node.device.IscsiDisks;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.iscsi.ChapCredentials;
import org.iscsicsi.node.iscsi.ChapSettings;
import org.iscsicsi.node.iscsi.IscsiException;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeRecord;
import org.iscsicsi.node.iscsi.Portal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaches a volume with open-iscsi through the first of its portals that serves it (an
 * unreachable portal, or one that does not offer the target, passes on to the next): optional
 * SendTargets discovery (to say clearly when a portal
 * does not offer the target; with CHAP when the portal requires it), a node record with
 * {@code node.startup=manual}, the replacement timeout and CHAP / mutual CHAP from the node-stage
 * secrets (written into the record file, never onto a command line), login, a bounded wait for
 * the disk (with one rescan if a session exists without its disk), and a check of the disk's VPD
 * identity against the volume's before it is handed on. Detach logs out by target IQN and portal
 * and deletes the record, whether or not the disk still exists.
 */
public final class IscsiAttacher implements VolumeAttacher {

  private static final Logger log = LoggerFactory.getLogger(IscsiAttacher.class);

  /** Timeouts and switches of the attach sequence. */
  public record Settings(boolean discovery, Duration deviceWait, int replacementTimeoutSeconds,
      int scsiDeviceTimeoutSeconds) {}

  private final Iscsiadm iscsiadm;
  private final IscsiDisks disks;
  private final Sysfs sysfs;
  private final Settings settings;

  public IscsiAttacher(Iscsiadm iscsiadm, Sysfs sysfs, Settings settings) {
    this.iscsiadm = iscsiadm;
    this.sysfs = sysfs;
    this.disks = new IscsiDisks(sysfs);
    this.settings = settings;
  }

  @Override
  public Path attach(String volumeId, VolumeSource source, Map<String, String> secrets)
      throws CsiException {
    Optional<ChapCredentials> chap = chap(source, secrets);
    Optional<Portal> connected = connectedPortal(source);
    // An existing session is reused where it is; otherwise every portal is tried in order.
    List<Portal> order = connected.map(List::of).orElse(source.target().portals());
    List<String> refused = new ArrayList<>();
    for (Portal portal : order) {
      boolean last = portal.equals(order.getLast());
      try {
        return attachVia(volumeId, source, portal, connected.isPresent(), chap);
      } catch (IscsiException e) {
        if (connected.isEmpty()) {
          cleanup(source.target().iqn(), portal);
        }
        if (last || !nextPortalMayServe(e.kind())) {
          throw new CsiException(status(e), "volume " + volumeId + ": " + e.getMessage()
              + triedBefore(refused), e);
        }
        refused.add(e.getMessage());
      } catch (CsiException e) {
        if (connected.isEmpty()) {
          cleanup(source.target().iqn(), portal);
        }
        if (last || e.code() != Status.Code.NOT_FOUND) {
          throw new CsiException(e.code(), e.getMessage() + triedBefore(refused), e);
        }
        refused.add(e.getMessage());
      }
      log.warn("volume {}: portal {} failed: {}; trying the next portal", volumeId, portal,
          refused.getLast());
    }
    throw new IllegalStateException("a target always has a portal");
  }

  private Path attachVia(String volumeId, VolumeSource source, Portal portal, boolean hadSession,
      Optional<ChapCredentials> chap) throws IscsiException, CsiException {
    String iqn = source.target().iqn();
    if (settings.discovery() && source.discovery() && !hadSession) {
      discover(iqn, portal, source.discoveryChap(), chap);
    }
    return loginPath(volumeId, source, portal, chap, Map.of(), false);
  }

  /**
   * Node record ({@code extraSettings} on top of the usual ones), login, the disk, its identity
   * check and tuning: one path of a volume. {@code inMap}: the disk may already be held by the
   * volume's own multipath map.
   */
  Path loginPath(String volumeId, VolumeSource source, Portal portal,
      Optional<ChapCredentials> chap, Map<String, String> extraSettings, boolean inMap)
      throws IscsiException, CsiException {
    String iqn = source.target().iqn();
    configure(iqn, portal, chap, extraSettings);
    iscsiadm.login(iqn, portal);
    Path device = waitForDisk(source, portal);
    verify(volumeId, source, device, inMap);
    tune(device);
    return device;
  }

  /**
   * Whether another portal of the same target may succeed where this one failed: yes when the
   * portal was unreachable or did not offer the target; no for an authentication failure (the
   * array checks the same secret on every portal, and repeated failures may lock the account).
   */
  private static boolean nextPortalMayServe(IscsiException.Kind kind) {
    return kind == IscsiException.Kind.UNREACHABLE || kind == IscsiException.Kind.TARGET_NOT_FOUND;
  }

  private static String triedBefore(List<String> refused) {
    return refused.isEmpty() ? "" : " (portals tried before: " + String.join("; ", refused) + ")";
  }

  /** The first of the volume's portals with a session to its target, if any. */
  private Optional<Portal> connectedPortal(VolumeSource source) {
    return source.target().portals().stream()
        .filter(p -> disks.session(source.target().iqn(), p).isPresent()).findFirst();
  }

  /** The portal the volume's session runs through, or its first portal without a session. */
  private Portal sessionPortal(VolumeSource source) {
    return connectedPortal(source).orElse(source.target().portal());
  }

  /**
   * SendTargets discovery, to say clearly when a portal does not offer the target. It
   * authenticates with the volume's CHAP credentials when publish_context asks for it, or when
   * unauthenticated discovery is refused; a refused discovery falls back to direct login, which
   * proves the target just as well.
   */
  private void discover(String iqn, Portal portal, boolean discoveryChap,
      Optional<ChapCredentials> chap) throws IscsiException, CsiException {
    boolean withChap = discoveryChap && chap.isPresent();
    List<NodeRecord> found;
    while (true) {
      try {
        found = withChap
            ? iscsiadm.discover(portal, ChapSettings.discovery(chap.get()))
            : iscsiadm.discover(portal);
        break;
      } catch (IscsiException e) {
        if (e.kind() != IscsiException.Kind.AUTH_FAILED) {
          throw e;
        }
        if (!withChap && chap.isPresent()) {
          log.info("SendTargets discovery at {} needs authentication; trying CHAP", portal);
          withChap = true;
          continue;
        }
        log.info("SendTargets discovery at {} refused{}; logging in directly", portal,
            withChap ? " with the volume's CHAP credentials" : "");
        return;
      }
    }
    if (found.stream().noneMatch(r -> r.targetIqn().equals(iqn))) {
      throw new CsiException(Status.Code.NOT_FOUND, "portal " + portal + " does not offer target "
          + iqn + " (SendTargets returned " + found.size() + " other target(s)): the volume's"
          + " target is gone or the portal is wrong");
    }
  }

  private void configure(String iqn, Portal portal, Optional<ChapCredentials> chap,
      Map<String, String> extraSettings) throws IscsiException {
    Map<String, String> record = new LinkedHashMap<>();
    // manual: kubelet re-stages after a reboot; automatic logins would orphan sessions.
    record.put("node.startup", "manual");
    record.put("node.session.timeo.replacement_timeout",
        Integer.toString(settings.replacementTimeoutSeconds()));
    record.putAll(extraSettings);
    record.putAll(ChapSettings.session(chap));
    iscsiadm.configureRecord(iqn, portal, record);
  }

  Path waitForDisk(VolumeSource source, Portal portal)
      throws CsiException, IscsiException {
    String iqn = source.target().iqn();
    long deadline = System.nanoTime() + settings.deviceWait().toNanos();
    long rescanAt = System.nanoTime() + Math.min(settings.deviceWait().toNanos() / 3,
        Duration.ofSeconds(2).toNanos());
    boolean rescanned = false;
    while (true) {
      Optional<Path> d = disks.find(iqn, portal, source.target().lun());
      if (d.isPresent() && sysfs.exists(d.get().getFileName().toString())) {
        return d.get();
      }
      long now = System.nanoTime();
      if (now >= deadline) {
        throw new CsiException(Status.Code.DEADLINE_EXCEEDED, "logged in to " + iqn + " at "
            + portal + " but LUN " + source.target().lun() + " did not appear as a disk within "
            + settings.deviceWait().toMillis() + " ms (raise --device-wait-timeout if the"
            + " target is slow, or check that the target exports this LUN)");
      }
      if (!rescanned && now >= rescanAt) {
        // A session without its disk (seen after reconnects): ask the kernel to scan again.
        iscsiadm.rescan(iqn, portal);
        rescanned = true;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CsiException(Status.Code.ABORTED, "interrupted while waiting for the disk");
      }
    }
  }

  private void verify(String volumeId, VolumeSource source, Path device, boolean inMap)
      throws CsiException {
    String name = device.getFileName().toString();
    List<String> holders = sysfs.holders(name);
    if (!holders.isEmpty() && !inMap) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "disk " + device + " of volume "
          + volumeId + " is held by " + holders + " (multipathd or another device-mapper user"
          + " claimed it): a single-path volume's disk must stay out of multipath; set"
          + " find_multipaths strict (or yes, smart) in /etc/multipath.conf");
    }
    if (source.serial().isEmpty() && source.naa().isEmpty()) {
      log.warn("volume {}: publish_context carries no serial or naa; trusting LUN {} of {}",
          volumeId, source.target().lun(), source.target().iqn());
      return;
    }
    DeviceIdentity id = DeviceIdentity.read(sysfs, name);
    if (!id.matches(source.serial(), source.naa())) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "disk " + device + " is not volume "
          + volumeId + ": expected serial=" + source.serial().orElse("(any)") + " naa="
          + source.naa().orElse("(any)") + ", the disk reports " + id
          + "; nothing was written to it");
    }
  }

  private void tune(Path device) {
    if (settings.scsiDeviceTimeoutSeconds() <= 0) {
      return;
    }
    Path t = sysfs.block(device.getFileName().toString()).resolve("device/timeout");
    try {
      Files.writeString(t, Integer.toString(settings.scsiDeviceTimeoutSeconds()));
    } catch (IOException e) {
      log.warn("cannot set the SCSI command timeout in {}: {}", t, e.toString());
    }
  }

  @Override
  public void detach(String volumeId, VolumeSource source) throws CsiException {
    String iqn = source.target().iqn();
    List<String> errors = new ArrayList<>();
    for (Portal portal : source.target().portals()) {
      try {
        iscsiadm.logout(iqn, portal);
      } catch (IscsiException e) {
        errors.add(e.getMessage());
      }
      try {
        iscsiadm.deleteRecord(iqn, portal);
      } catch (IscsiException e) {
        errors.add(e.getMessage());
      }
    }
    if (!errors.isEmpty()) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + String.join("; ",
          errors));
    }
  }

  void cleanup(String iqn, Portal portal) {
    try {
      iscsiadm.logout(iqn, portal);
    } catch (IscsiException e) {
      log.warn("cleanup: {}", e.getMessage());
    }
    try {
      iscsiadm.deleteRecord(iqn, portal);
    } catch (IscsiException e) {
      log.warn("cleanup: {}", e.getMessage());
    }
  }

  @Override
  public Optional<Path> device(VolumeSource source) {
    return disks.find(source.target().iqn(), sessionPortal(source), source.target().lun())
        .filter(p -> sysfs.exists(p.getFileName().toString()));
  }

  @Override
  public Optional<String> problem(VolumeSource source) {
    var s = disks.session(source.target().iqn(), sessionPortal(source));
    if (s.isEmpty()) {
      return Optional.of("no iSCSI session to " + source.target().iqn());
    }
    if (!s.get().loggedIn()) {
      return Optional.of("iSCSI session " + s.get().name() + " to " + source.target().iqn()
          + " is " + s.get().state());
    }
    if (device(source).isEmpty()) {
      return Optional.of("iSCSI session to " + source.target().iqn() + " has no disk for LUN "
          + source.target().lun());
    }
    return Optional.empty();
  }

  @Override
  public void rescan(VolumeSource source) throws CsiException {
    try {
      iscsiadm.rescan(source.target().iqn(), sessionPortal(source));
    } catch (IscsiException e) {
      throw new CsiException(status(e), e.getMessage(), e);
    }
  }

  /**
   * The node-stage secret's credentials, read as the controller reads them ({@link ChapSecret}).
   */
  static Optional<ChapCredentials> chap(VolumeSource source, Map<String, String> secrets)
      throws CsiException {
    if (!source.chap()) {
      return Optional.empty();
    }
    try {
      ChapSecret s = ChapSecret.read(secrets).orElseThrow(() -> CsiException.invalid(
          "volume requires CHAP but the node-stage secret lacks " + ChapSecret.USERNAME
              + " and " + ChapSecret.PASSWORD + ": set"
              + " csi.storage.k8s.io/node-stage-secret-name in the StorageClass, or"
              + " spec.csi.nodeStageSecretRef in a static PersistentVolume"));
      return Optional.of(new ChapCredentials(s.user(), s.password(),
          s.mutual() ? s.mutualUser() : null, s.mutual() ? s.mutualPassword() : null));
    } catch (IllegalArgumentException e) {
      throw CsiException.invalid("node-stage secret: " + e.getMessage());
    }
  }

  static Status.Code status(IscsiException e) {
    return switch (e.kind()) {
      case AUTH_FAILED -> Status.Code.PERMISSION_DENIED;
      case UNREACHABLE, ISCSID_DOWN -> Status.Code.UNAVAILABLE;
      case TARGET_NOT_FOUND -> Status.Code.NOT_FOUND;
      case OTHER -> Status.Code.INTERNAL;
    };
  }
}
