package org.iscsicsi.controller.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.HostPort;
import org.iscsicsi.target.engine.TargetEngine;

/**
 * The target engine running inside the controller's process (the default: one pod is a whole
 * storage server). The controller reaches it over its in-process target.v1 channel, exactly as it
 * would reach a remote engine.
 */
public final class EmbeddedEngine {

  /** Default name of the embedded engine: the first part of its volume ids. */
  public static final String DEFAULT_NAME = "local";

  /** File name of the admin socket in the state directory. */
  public static final String ADMIN_SOCKET = "admin.sock";

  private EmbeddedEngine() {}

  /**
   * Starts an engine on {@code stateDir}, reachable in-process only, and adds it to
   * {@code engines}, which closes it.
   *
   * @param portal the iSCSI listen address
   * @param advertise what initiators are told (empty: the bound address)
   */
  public static Engine start(EngineSet engines, String name, Path stateDir, HostPort portal,
      List<HostPort> advertise, Map<String, String> topology, Duration timeout)
      throws IOException {
    return start(engines, name, stateDir, portal, advertise, topology, timeout,
        AdminListener.of(new AdminAddress.None()));
  }

  /**
   * As {@link #start(EngineSet, String, Path, HostPort, List, Map, Duration)}, with the admin
   * API also offered on {@code admin} (the controller's default: a unix socket in the state
   * directory, for {@code target-engine --admin unix:...}).
   */
  public static Engine start(EngineSet engines, String name, Path stateDir, HostPort portal,
      List<HostPort> advertise, Map<String, String> topology, Duration timeout,
      AdminListener admin) throws IOException {
    TargetEngine engine = TargetEngine.start(EngineConfig.of(stateDir).withPortal(portal)
        .withAdvertise(advertise).withAdmin(admin));
    Engine e = new Engine(name, new EngineClient(engine.adminChannel(), timeout), topology,
        List.of());
    engines.add(e, engine);
    return e;
  }

  /** Where the embedded engine's admin socket goes by default: beside its state. */
  public static AdminAddress defaultAdminSocket(Path stateDir) {
    return new AdminAddress.Unix(stateDir.toAbsolutePath().normalize().resolve(ADMIN_SOCKET));
  }
}
