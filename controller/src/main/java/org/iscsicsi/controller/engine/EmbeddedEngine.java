package org.iscsicsi.controller.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.SocketDirectory;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;

/**
 * The target engine running inside the controller's process (the default: one pod is a whole
 * storage server). The controller reaches it over its in-process target.v1 channel, exactly as it
 * would reach a remote engine.
 */
public final class EmbeddedEngine {

  /** Default name of the embedded engine: the first part of its volume ids. */
  public static final String DEFAULT_NAME = "local";

  /**
   * The admin socket's place in the state directory: a directory of its own, since Kubernetes'
   * fsGroup makes the state volume's root group-writable, which the engine refuses for a socket
   * directory.
   */
  public static final String ADMIN_SOCKET = "admin/admin.sock";

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
    // the engine records the name in its state directory and reports it in GetEngineInfo
    TargetEngine engine = TargetEngine.start(EngineConfig.of(stateDir).withPortal(portal)
        .withAdvertise(advertise).withAdmin(admin)
        .withNaming(new EngineNaming(name, null, false)));
    Engine e = new Engine(name, new EngineClient(engine.adminChannel(), timeout), topology,
        List.of());
    engines.add(e, engine);
    return e;
  }

  /**
   * The embedded engine's default admin socket, {@code <stateDir>/admin/admin.sock}, its
   * directory created (or narrowed) to mode 0700: it is the controller's own.
   */
  public static AdminAddress defaultAdminSocket(Path stateDir) throws IOException {
    Path socket = stateDir.toAbsolutePath().normalize().resolve(ADMIN_SOCKET);
    SocketDirectory.claim(socket.getParent());
    return AdminAddress.unix(socket);
  }
}
