package org.iscsicsi.target.engine;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.iscsicsi.csi.HostPort;

/**
 * How to run a {@link TargetEngine}. Build one with {@link #of(Path)} and the {@code with*}
 * methods.
 *
 * @param stateDir where the state document (and by default LUN files and snapshots) live
 * @param lunDir the pool: where new LUN files go (default {@code <stateDir>/luns})
 * @param snapshotDir where snapshot files go (default {@code <stateDir>/snapshots})
 * @param portal the address the iSCSI listener binds (default {@code 0.0.0.0:3260}); port 0
 *     picks a free port
 * @param advertise addresses initiators are told to use in SendTargets; empty: the bound one
 * @param admin where and how the admin gRPC API listens besides the in-process channel
 * @param iscsi whether to run the iSCSI transport at all (false: admin API only)
 * @param nopInterval how long a connection may be idle before the target sends a NOP-In ping
 * @param copyTimeout the longest a snapshot or clone copy may take
 * @param login login authentication rules, per-source bounds and timeout of the portal
 * @param naming the name the engine asks for (default: the state directory's, or "local")
 * @param backends where LUN bytes come from besides the pool directory, the default first
 *     (none: {@code fileio} only)
 */
public record EngineConfig(Path stateDir, Path lunDir, Path snapshotDir, HostPort portal,
    List<HostPort> advertise, AdminListener admin, boolean iscsi, Duration nopInterval,
    Duration copyTimeout, LoginSettings login, EngineNaming naming,
    List<BackendOption> backends) {

  public static final int ISCSI_PORT = 3260;

  public EngineConfig {
    Objects.requireNonNull(stateDir, "stateDir");
    stateDir = stateDir.toAbsolutePath().normalize();
    lunDir = (lunDir == null ? stateDir.resolve("luns") : lunDir).toAbsolutePath().normalize();
    snapshotDir = (snapshotDir == null ? stateDir.resolve("snapshots") : snapshotDir)
        .toAbsolutePath().normalize();
    portal = portal == null ? new HostPort("0.0.0.0", ISCSI_PORT) : portal;
    advertise = advertise == null ? List.of() : List.copyOf(advertise);
    admin = admin == null ? AdminListener.of(new AdminAddress.None()) : admin;
    nopInterval = nopInterval == null ? Duration.ofSeconds(10) : nopInterval;
    copyTimeout = copyTimeout == null ? Duration.ofHours(1) : copyTimeout;
    login = login == null ? LoginSettings.defaults() : login;
    naming = naming == null ? EngineNaming.DEFAULT : naming;
    backends = backends == null ? List.of() : List.copyOf(backends);
    if (backends.stream().map(BackendOption::name).distinct().count() != backends.size()) {
      throw new IllegalArgumentException("--backend names repeat");
    }
  }

  /** Defaults: pool and snapshots under the state dir, iSCSI on 0.0.0.0:3260, no admin socket. */
  public static EngineConfig of(Path stateDir) {
    return new EngineConfig(stateDir, null, null, null, null, null, true, null, null, null,
        null, null);
  }

  public EngineConfig withLunDir(Path dir) {
    return new EngineConfig(stateDir, dir, snapshotDir, portal, advertise, admin, iscsi,
        nopInterval, copyTimeout, login, naming, backends);
  }

  public EngineConfig withSnapshotDir(Path dir) {
    return new EngineConfig(stateDir, lunDir, dir, portal, advertise, admin, iscsi, nopInterval,
        copyTimeout, login, naming, backends);
  }

  public EngineConfig withPortal(HostPort p) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, p, advertise, admin, iscsi,
        nopInterval, copyTimeout, login, naming, backends);
  }

  public EngineConfig withAdvertise(List<HostPort> a) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, a, admin, iscsi, nopInterval,
        copyTimeout, login, naming, backends);
  }

  /** Plain, without reflection: a unix socket, none, or TCP on loopback. */
  public EngineConfig withAdmin(AdminAddress a) {
    return withAdmin(AdminListener.of(a));
  }

  public EngineConfig withAdmin(AdminListener a) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, a, iscsi,
        nopInterval, copyTimeout, login, naming, backends);
  }

  public EngineConfig withIscsi(boolean on) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, on,
        nopInterval, copyTimeout, login, naming, backends);
  }

  public EngineConfig withNopInterval(Duration d) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, iscsi, d,
        copyTimeout, login, naming, backends);
  }

  public EngineConfig withCopyTimeout(Duration d) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, iscsi,
        nopInterval, d, login, naming, backends);
  }

  public EngineConfig withLogin(LoginSettings l) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, iscsi,
        nopInterval, copyTimeout, l, naming, backends);
  }

  public EngineConfig withNaming(EngineNaming n) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, iscsi,
        nopInterval, copyTimeout, login, n, backends);
  }

  public EngineConfig withBackends(List<BackendOption> b) {
    return new EngineConfig(stateDir, lunDir, snapshotDir, portal, advertise, admin, iscsi,
        nopInterval, copyTimeout, login, naming, b);
  }
}
