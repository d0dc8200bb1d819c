package org.iscsicsi.target.cli;

import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.HostPort;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.metrics.MetricsServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code serve}: runs an engine until SIGTERM/SIGINT. */
@Command(name = "serve", description = "Run the target engine.")
final class ServeCommand implements Callable<Integer> {

  @Option(names = "--state-dir", required = true, paramLabel = "DIR",
      description = "Where targets, LUNs, grants and secrets are kept.")
  Path stateDir;

  @Option(names = "--pool-dir", paramLabel = "DIR",
      description = "Where new LUN files go (default DIR/luns).")
  Path poolDir;

  @Option(names = "--snapshot-dir", paramLabel = "DIR",
      description = "Where snapshot files go (default DIR/snapshots).")
  Path snapshotDir;

  @Option(names = "--portal", paramLabel = "HOST:PORT",
      description = "iSCSI listen address (default 0.0.0.0:3260).")
  String portal = "0.0.0.0:" + EngineConfig.ISCSI_PORT;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "Portal announced in discovery (repeatable; default: the listen address).")
  List<String> advertise = new ArrayList<>();

  @Option(names = "--admin", paramLabel = "ADDR",
      description = "Admin API: host:port, unix:/path or none (default " + AdminAddress.DEFAULT
          + ").")
  String admin = AdminAddress.DEFAULT;

  @Option(names = "--nop-interval", paramLabel = "SECONDS",
      description = "Ping idle initiators after this many seconds (default 10).")
  int nopSeconds = 10;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics (default: off).")
  String metrics;

  @Mixin
  LoginOptions login = new LoginOptions();

  @Option(names = "--no-iscsi", hidden = true, description = "Serve only the admin API.")
  boolean noIscsi;

  @Override
  public Integer call() throws IOException, InterruptedException {
    EngineConfig config = EngineConfig.of(stateDir)
        .withLunDir(poolDir)
        .withSnapshotDir(snapshotDir)
        .withPortal(HostPort.parse(portal, EngineConfig.ISCSI_PORT))
        .withAdvertise(advertise.stream().map(a -> HostPort.parse(a, EngineConfig.ISCSI_PORT))
            .toList())
        .withAdmin(AdminAddress.parse(admin))
        .withIscsi(!noIscsi)
        .withNopInterval(Duration.ofSeconds(nopSeconds))
        .withLogin(login.settings());
    if (nopSeconds <= 0) {
      throw new IllegalArgumentException("--nop-interval must be positive");
    }
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      // netty samples 1 in 128 buffers with a stack trace by default: 0.6 % of the engine's CPU
      // in docs/performance.md's profile; tests keep it on, -Dio.netty.leakDetection.level too
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
    TargetEngine engine;
    try {
      engine = TargetEngine.start(config);
    } catch (IOException e) {
      throw new TargetEngineCli.CliException("cannot start: " + e.getMessage());
    }
    MetricsServer metricsServer = null;
    if (metrics != null) {
      HostPort where = HostPort.parse(metrics, 9100);
      try {
        metricsServer = MetricsServer.start(where.host(), where.port(), engine.metrics());
      } catch (IOException e) {
        engine.close();
        throw new TargetEngineCli.CliException(e.getMessage());
      }
    }
    MetricsServer m = metricsServer;
    Thread hook = new Thread(() -> {
      if (m != null) {
        m.close();
      }
      engine.close();
    }, "target-engine-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    engine.awaitTermination();
    return 0;
  }
}
