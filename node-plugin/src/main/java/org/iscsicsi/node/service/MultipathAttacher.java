package org.iscsicsi.node.service;

import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.iscsicsi.node.device.IscsiDisks;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.iscsi.ChapCredentials;
import org.iscsicsi.node.iscsi.IscsiException;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.Portal;
import org.iscsicsi.node.multipath.Multipath;
import org.iscsicsi.node.multipath.MultipathConfig;
import org.iscsicsi.node.multipath.MultipathException;
import org.iscsicsi.node.multipath.PathState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaches a replicated volume as a dm-multipath map (docs/replication.md, section 7): for every
 * portal (one per member) a node record with the multipath timeouts, login, the path's disk and
 * its VPD identity check; {@code multipath -a} on the first path so that {@code find_multipaths
 * strict} lets the map form, {@code multipathd add path} for each; then a bounded wait for the map
 * whose dm uuid is {@code mpath-3<naa>} to have a usable path. The device handed on is the map
 * ({@code /dev/dm-N}). A member that cannot be reached at stage time is left out (the map serves
 * from the others); a wrong secret or a disk that is not the volume fails the stage, and what this
 * call created is taken away again.
 *
 * <p>Unstage: before the unmount, {@code disablequeueing} when no path is usable (so that queued
 * I/O fails instead of holding the unmount and the map for ever); then the WWID leaves the wwids
 * file ({@code multipath -w}), {@code multipath -f} (retried while in use), {@code multipathd
 * del path}, logout of every portal and deletion of the records.
 */
public final class MultipathAttacher implements VolumeAttacher {

  private static final Logger log = LoggerFactory.getLogger(MultipathAttacher.class);

  /**
   * Node-record settings of a path. The replacement timeout equals the stanza's {@code
   * fast_io_fail_tmo} (multipathd writes that into each session anyway): a dead member's path
   * fails after 5 s and I/O moves on. NOP-Outs every 2 s with a 2 s answer time find a silent
   * member (frozen, partitioned: no TCP reset) within 4 s.
   */
  static final Map<String, String> PATH_SETTINGS = Map.of(
      "node.session.timeo.replacement_timeout", "5",
      "node.conn[0].timeo.noop_out_interval", "2",
      "node.conn[0].timeo.noop_out_timeout", "2");

  private static final String DM_UUID_PREFIX = "mpath-";
  private static final Duration POLL = Duration.ofMillis(200);
  /** How often a path that is not yet in its map is offered to multipathd again. */
  private static final Duration READD_EVERY = Duration.ofSeconds(1);

  private final IscsiAttacher paths;
  private final Iscsiadm iscsiadm;
  private final IscsiDisks disks;
  private final Sysfs sysfs;
  private final Multipath multipath;
  private final Supplier<MultipathConfig> config;
  private final Duration deviceWait;
  private final Duration flushWait;

  /**
   * @param paths logs in to one path and checks its disk (shared with single-path volumes)
   * @param config the host's multipath configuration, read at each stage
   * @param deviceWait how long the map may take to get a usable path
   * @param flushWait how long {@code multipath -f} is retried while the map is in use
   */
  public MultipathAttacher(IscsiAttacher paths, Iscsiadm iscsiadm, Sysfs sysfs,
      Multipath multipath, Supplier<MultipathConfig> config, Duration deviceWait,
      Duration flushWait) {
    this.paths = paths;
    this.iscsiadm = iscsiadm;
    this.sysfs = sysfs;
    this.disks = new IscsiDisks(sysfs);
    this.multipath = multipath;
    this.config = config;
    this.deviceWait = deviceWait;
    this.flushWait = flushWait;
  }

  private static String wwid(VolumeSource source) {
    return source.wwid().orElseThrow(() -> new IllegalArgumentException("not a multipath volume"));
  }

  @Override
  public Path attach(String volumeId, VolumeSource source, Map<String, String> secrets)
      throws CsiException {
    String wwid = wwid(source);
    MultipathConfig conf = config.get();
    if (conf.blacklistsDriver()) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " is"
          + " replicated, but this node's multipath configuration blacklists vendor "
          + MultipathConfig.VENDOR + ", so its paths cannot form a map: replace the blacklist"
          + " with this drop-in and run 'systemctl reload multipathd':\n" + MultipathConfig.STANZA);
    }
    conf.replicationProblems().forEach(p -> log.warn("volume {}: multipath configuration: {}",
        volumeId, p));
    try {
      multipath.paths(wwid);
    } catch (MultipathException e) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "volume " + volumeId + " is"
          + " replicated, but multipathd does not answer on this node (" + e.getMessage()
          + "): start it ('systemctl enable --now multipathd') with this drop-in:\n"
          + MultipathConfig.STANZA, e);
    }
    Optional<ChapCredentials> chap = IscsiAttacher.chap(source, secrets);
    String iqn = source.target().iqn();
    boolean hadSessions = source.target().portals().stream()
        .anyMatch(p -> disks.session(iqn, p).isPresent());
    List<String> pathDisks;
    try {
      pathDisks = loginAll(volumeId, source, chap);
    } catch (CsiException e) {
      if (!hadSessions) {
        logoutAll(volumeId, source);
      }
      throw e;
    }
    try {
      multipath.addWwid(sysfs.devRoot(), pathDisks.getFirst());
      for (String d : pathDisks) {
        addPath(d, wwid);
      }
      String map = awaitMap(volumeId, wwid, pathDisks);
      log.info("volume {}: map {} ({}) over {}", volumeId, wwid, map, pathDisks);
      return sysfs.devRoot().resolve(map);
    } catch (MultipathException e) {
      undo(volumeId, source, hadSessions);
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + e.getMessage()
          + " (is multipathd running on the host?)", e);
    } catch (CsiException e) {
      undo(volumeId, source, hadSessions);
      throw e;
    }
  }

  /** Logs in to every portal; the disks of the paths that came up, at least one. */
  private List<String> loginAll(String volumeId, VolumeSource source,
      Optional<ChapCredentials> chap) throws CsiException {
    List<String> up = new ArrayList<>();
    List<String> down = new ArrayList<>();
    for (Portal portal : source.target().portals()) {
      try {
        Path disk = paths.loginPath(volumeId, source, portal, chap, PATH_SETTINGS, true);
        up.add(disk.getFileName().toString());
      } catch (IscsiException e) {
        if (e.kind() != IscsiException.Kind.UNREACHABLE
            && e.kind() != IscsiException.Kind.TARGET_NOT_FOUND) {
          throw new CsiException(IscsiAttacher.status(e), "volume " + volumeId + ", path "
              + portal + ": " + e.getMessage(), e);
        }
        paths.cleanup(source.target().iqn(), portal);
        down.add(portal + ": " + e.getMessage());
      } catch (CsiException e) {
        if (e.code() != Status.Code.DEADLINE_EXCEEDED) {
          throw e;
        }
        paths.cleanup(source.target().iqn(), portal);
        down.add(portal + ": " + e.getMessage());
      }
    }
    if (up.isEmpty()) {
      throw new CsiException(Status.Code.UNAVAILABLE, "volume " + volumeId + ": no member's"
          + " portal serves it: " + String.join("; ", down));
    }
    if (!down.isEmpty()) {
      log.warn("volume {}: staging with {} of {} paths; left out: {}", volumeId, up.size(),
          source.target().portals().size(), down);
    }
    return up;
  }

  /** {@code multipathd add path}; a path multipathd already holds for this map is fine. */
  private void addPath(String disk, String wwid) throws MultipathException {
    try {
      multipath.addPath(disk);
    } catch (MultipathException e) {
      if (multipath.paths(wwid).stream().noneMatch(p -> p.device().equals(disk))) {
        throw e;
      }
    }
  }

  /**
   * Waits for the map of {@code wwid} to exist with a usable path and every path of {@code
   * pathDisks} among its slaves; its dm-N name. A path multipathd did not take (it looked at the
   * disk before udev had) is offered again every {@link #READD_EVERY}; at the deadline a map with
   * a usable path is taken with the paths it has, and the others are logged.
   */
  private String awaitMap(String volumeId, String wwid, List<String> pathDisks)
      throws CsiException, MultipathException {
    long deadline = System.nanoTime() + deviceWait.toNanos();
    long readdAt = System.nanoTime() + READD_EVERY.toNanos();
    while (true) {
      Optional<String> map = sysfs.deviceMapperByUuid(DM_UUID_PREFIX + wwid);
      List<PathState> states = map.isPresent() ? multipath.paths(wwid) : List.of();
      boolean usable = states.stream().anyMatch(PathState::usable);
      List<String> missing = map.map(m -> pathDisks.stream()
          .filter(d -> !sysfs.slaves(m).contains(d)).toList()).orElse(pathDisks);
      if (usable && missing.isEmpty()) {
        return map.get();
      }
      long now = System.nanoTime();
      if (now > deadline) {
        if (usable) {
          log.warn("volume {}: map {} serves without path(s) {}: multipathd did not take them",
              volumeId, wwid, missing);
          return map.get();
        }
        throw new CsiException(Status.Code.DEADLINE_EXCEEDED, "volume " + volumeId + ": "
            + (map.isEmpty() ? "no multipath map " + wwid + " appeared"
                : "map " + wwid + " has no usable path (" + states + ")")
            + " within " + deviceWait.toMillis() + " ms (check that the device stanza for"
            + " vendor " + MultipathConfig.VENDOR + " is loaded: multipath -t)");
      }
      if (now > readdAt) {
        for (String d : missing) {
          readd(d);
        }
        readdAt = now + READD_EVERY.toNanos();
      }
      sleep();
    }
  }

  /** {@code multipathd del path} and {@code add path} again: multipathd reads the disk anew. */
  private void readd(String disk) {
    try {
      multipath.delPath(disk);
    } catch (MultipathException e) {
      log.debug("{}", e.getMessage());
    }
    try {
      multipath.addPath(disk);
    } catch (MultipathException e) {
      log.debug("{}", e.getMessage());
    }
  }

  /**
   * With no usable path, an unmount would wait for ever on the queued journal writes: queueing
   * is disabled first, so that they fail (they were never acknowledged) and the unmount ends.
   */
  @Override
  public void beforeUnmount(String volumeId, VolumeSource source) throws CsiException {
    failQueuedIoIfNoPath(volumeId, wwid(source));
  }

  private void failQueuedIoIfNoPath(String volumeId, String wwid) throws CsiException {
    if (sysfs.deviceMapperByUuid(DM_UUID_PREFIX + wwid).isEmpty()) {
      return;
    }
    try {
      List<PathState> states = multipath.paths(wwid);
      if (states.stream().noneMatch(PathState::usable)) {
        log.warn("volume {}: map {} has no usable path ({}); failing its queued I/O so that it"
            + " can be unmounted and removed", volumeId, wwid, states);
        multipath.disableQueueing(wwid);
      }
    } catch (MultipathException e) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public void detach(String volumeId, VolumeSource source) throws CsiException {
    String wwid = wwid(source);
    List<String> pathDisks = pathDisks(source);
    List<String> errors = new ArrayList<>();
    if (!pathDisks.isEmpty()) {
      try {
        // First, so that multipathd does not build the map again from a path still present.
        multipath.removeWwid(sysfs.devRoot(), pathDisks.getFirst());
      } catch (MultipathException e) {
        errors.add(e.getMessage());
      }
    }
    if (sysfs.deviceMapperByUuid(DM_UUID_PREFIX + wwid).isPresent()) {
      failQueuedIoIfNoPath(volumeId, wwid);
      try {
        multipath.flush(wwid, flushWait);
      } catch (MultipathException e) {
        // Logging out under a map still in use would leave its writers queued for ever.
        throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + e.getMessage()
            + " (is the volume still mounted or open somewhere?)", e);
      }
    }
    for (String d : pathDisks) {
      try {
        multipath.delPath(d);
      } catch (MultipathException e) {
        log.debug("volume {}: {}", volumeId, e.getMessage());
      }
    }
    errors.addAll(logoutAll(volumeId, source));
    if (!errors.isEmpty()) {
      throw new CsiException(Status.Code.INTERNAL, "volume " + volumeId + ": " + String.join("; ",
          errors));
    }
  }

  /** Logs out of every portal and deletes its record; what failed. */
  private List<String> logoutAll(String volumeId, VolumeSource source) {
    List<String> errors = new ArrayList<>();
    String iqn = source.target().iqn();
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
    errors.forEach(e -> log.debug("volume {}: {}", volumeId, e));
    return errors;
  }

  /** Best-effort removal of what a failed attach created. */
  private void undo(String volumeId, VolumeSource source, boolean hadSessions) {
    if (hadSessions) {
      return;
    }
    try {
      detach(volumeId, source);
    } catch (CsiException e) {
      log.warn("volume {}: cleanup after a failed stage: {}", volumeId, e.getMessage());
    }
  }

  /** The disks of the volume's paths that exist now, in portal order. */
  private List<String> pathDisks(VolumeSource source) {
    List<String> out = new ArrayList<>();
    for (Portal p : source.target().portals()) {
      disks.find(source.target().iqn(), p, source.target().lun())
          .map(d -> d.getFileName().toString()).filter(sysfs::exists)
          .filter(d -> !out.contains(d)).ifPresent(out::add);
    }
    return out;
  }

  @Override
  public Optional<Path> device(VolumeSource source) {
    return sysfs.deviceMapperByUuid(DM_UUID_PREFIX + wwid(source)).map(sysfs.devRoot()::resolve);
  }

  /**
   * The map's condition: abnormal when it is missing or no path can carry I/O (writes queue), with
   * every path's state; a member whose path is down while another serves is not abnormal.
   */
  @Override
  public Optional<String> problem(VolumeSource source) {
    String wwid = wwid(source);
    if (device(source).isEmpty()) {
      return Optional.of("no multipath map " + wwid + " on this node");
    }
    List<PathState> states;
    try {
      states = multipath.paths(wwid);
    } catch (MultipathException e) {
      return Optional.of("cannot read the paths of map " + wwid + ": " + e.getMessage());
    }
    if (states.stream().anyMatch(PathState::usable)) {
      return Optional.empty();
    }
    return Optional.of("multipath map " + wwid + " has no usable path, I/O is queued; paths: "
        + (states.isEmpty() ? "none" : states.toString()));
  }

  @Override
  public void rescan(VolumeSource source) throws CsiException {
    String iqn = source.target().iqn();
    try {
      for (Portal p : source.target().portals()) {
        if (disks.session(iqn, p).isPresent()) {
          iscsiadm.rescan(iqn, p);
        }
      }
      awaitGrownPaths(source);
      multipath.resize(wwid(source));
    } catch (IscsiException e) {
      throw new CsiException(IscsiAttacher.status(e), e.getMessage(), e);
    } catch (MultipathException e) {
      throw new CsiException(Status.Code.INTERNAL, e.getMessage(), e);
    }
  }

  /**
   * Waits (up to the device wait) until every path disk is larger than the map, so that the
   * map's resize sees the new size; returns at once when the map is missing.
   */
  private void awaitGrownPaths(VolumeSource source) throws CsiException {
    Optional<Path> map = device(source);
    if (map.isEmpty()) {
      return;
    }
    long mapBytes = sysfs.sizeBytes(map.get().getFileName().toString());
    long deadline = System.nanoTime() + deviceWait.toNanos();
    while (System.nanoTime() < deadline) {
      List<String> d = pathDisks(source);
      if (!d.isEmpty() && d.stream().allMatch(n -> sysfs.sizeBytes(n) > mapBytes)) {
        return;
      }
      sleep();
    }
    log.info("paths of map {} did not grow beyond {} bytes; resizing it anyway",
        wwid(source), mapBytes);
  }

  private static void sleep() throws CsiException {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CsiException(Status.Code.ABORTED, "interrupted while waiting for the map");
    }
  }
}
