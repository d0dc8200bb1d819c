package org.iscsicsi.controller.service;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineClient;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.EngineStatus;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.transfer.ReplicationSettings;

/**
 * A pool of real target engines embedded in this process, each on its own state directory
 * with iSCSI on 127.0.0.1 port 0, reached over its in-process target.v1 channel. Only the
 * directory is a stand-in: until the pool's engine directory (fed from Kubernetes) is available
 * to these tests, a test sets each engine's status here, and stops or restarts engines for real.
 */
public final class TestPool implements Engines {

  static final String ZONE = Placement.ZONE_KEY;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

  private final Path dir;
  private final AdminTls replicationTls;
  private final Map<String, Engine> engines = new LinkedHashMap<>();
  private final Map<String, TargetEngine> running = new LinkedHashMap<>();

  public TestPool(Path dir) {
    this(dir, null);
  }

  /**
   * @param replicationTls the engines' certificate (CN engine) and CA: each engine gets a
   *     replication port on 127.0.0.1 and takes part in transfers; null for none
   */
  public TestPool(Path dir, AdminTls replicationTls) {
    this.dir = dir;
    this.replicationTls = replicationTls;
  }

  /** Starts (or restarts, on its state directory) engine {@code name}, Ready. */
  public synchronized Engine start(String name, Map<String, String> topology) throws IOException {
    TargetEngine engine = TargetEngine.start(EngineConfig.of(dir.resolve(name))
        .withPortal(new HostPort("127.0.0.1", 0))
        .withNaming(new EngineNaming(name, null, false)), replicationTls == null ? null
            : ReplicationSettings.of(new HostPort("127.0.0.1", 0), replicationTls));
    running.put(name, engine);
    Engine e = new Engine(name, new EngineClient(engine.adminChannel(), CALL_TIMEOUT), topology,
        List.of());
    engines.put(name, e);
    return e;
  }

  /** Restarts a stopped engine with its topology, Ready again. */
  public synchronized Engine restart(String name) throws IOException {
    return start(name, engines.get(name).topology());
  }

  /** Sets an engine's status, as the directory would on a Lease, probe or spec change. */
  public synchronized void status(String name, EngineState state, String message) {
    engines.put(name, engines.get(name).withStatus(
        new EngineStatus(state, Instant.now(), message)));
  }

  /** Stops an engine's process part for real: its calls fail from now on. */
  public synchronized void stop(String name) {
    TargetEngine engine = running.remove(name);
    if (engine != null) {
      engine.close();
    }
  }

  /** The running engine itself, to change it behind the controller's back. */
  synchronized TargetEngine engine(String name) {
    return running.get(name);
  }

  public Engine get(String name) {
    return byName(name).orElseThrow();
  }

  @Override
  public synchronized List<Engine> all() {
    return new ArrayList<>(engines.values());
  }

  @Override
  public synchronized Optional<Engine> byName(String name) {
    return Optional.ofNullable(engines.get(name));
  }

  @Override
  public boolean pooled() {
    return true;
  }

  @Override
  public synchronized void close() {
    running.values().forEach(TargetEngine::close);
    running.clear();
  }
}
