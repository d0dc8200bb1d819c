package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.kube.PoolFixture.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineLease;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.PoolMember;
import org.iscsicsi.controller.engine.Reachability;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real engines, each a {@code target-engine serve} process with its own state directory,
 * iSCSI portal and admin API on free TCP ports under mutual TLS (certificates from TestPki, the
 * engines' naming {@code engine.iscsi.csi.iscsicsi.org}), and the controller's directory,
 * informers and probe loop in this process with the production timings (probe every 2 s,
 * 1 s deadline, Lease 6 s). The engines' IscsiEngine objects and Leases are written by this test
 * in fabric8's mock API server, as each engine's own registration will write them (renewed every
 * 2 s while its process runs). Pins: all three join; a controller whose client certificate is
 * of another CA is refused by every engine; a SIGKILLed engine is Unreachable within the Lease
 * duration plus a probe interval and deadline while the other two keep answering; restarted
 * (a new incarnation), it is Ready again.
 */
@EnableKubernetesMockClient(crud = true)
class PoolDiscoveryIT {

  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");
  static final Duration LEASE = EngineLease.DEFAULT_DURATION;
  static final Duration RENEW = Duration.ofSeconds(2);
  static final Duration UNREACHABLE_BOUND = LEASE.plus(EngineHealth.PROBE_INTERVAL)
      .plus(EngineHealth.PROBE_DEADLINE);
  /** Time the informer and a loaded machine may add to the bound. */
  static final Duration SLACK = Duration.ofSeconds(3);

  static KubernetesClient client;
  static KubernetesMockServer server;

  static {
    EngineInformerTest.MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  @TempDir Path dir;

  TestPki engineCa;
  TestPki controllerCa;
  TestPki.Identity engineCert;
  final Map<String, PoolEngineProcess> engines = new LinkedHashMap<>();
  final List<AutoCloseable> closing = new ArrayList<>();
  PoolFixture pool;

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.stop();
    }
  }

  private EngineDirectory directory(AdminTls tls) {
    return pool.directory(tls, closing);
  }

  private static EngineState state(EngineDirectory d, String name) {
    return d.byName(name).map(Engine::state).orElse(null);
  }

  @Test
  void threeEngineProcessesJoinLeaveAndComeBack() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    engineCa = TestPki.create(dir, "engines");
    controllerCa = TestPki.create(dir, "controllers");
    engineCert = engineCa.issue("engine", List.of(RemoteEngine.POOL_SERVER_NAME));
    pool = new PoolFixture(server, client);
    for (String name : NAMES) {
      engines.put(name, new PoolEngineProcess(name, dir, engineCert, controllerCa, null));
    }
    long t0 = System.nanoTime();
    for (PoolEngineProcess e : engines.values()) {
      e.start();
    }
    PoolFixture.Renewals leases = pool.renewEvery(RENEW, LEASE);
    closing.add(leases);
    for (PoolEngineProcess e : engines.values()) {
      String incarnation = e.awaitServing();
      pool.register(e.name, e.adminAddress(), incarnation);
      leases.keep(e.name, incarnation);
    }
    System.out.printf("pool: 3 engine processes serving after %d ms%n", millisSince(t0));

    TestPki.Identity controller = controllerCa.issue("controller");
    long joinStart = System.nanoTime();
    EngineDirectory directory = directory(TestPki.tls(controller, engineCa));
    await(() -> NAMES.stream().allMatch(n -> state(directory, n) == EngineState.READY),
        Duration.ofSeconds(60), "all three engines Ready");
    System.out.printf("pool: all three Ready %d ms after the directory started%n",
        millisSince(joinStart));
    for (String name : NAMES) {
      assertThat(directory.byName(name).orElseThrow().client().info().getServing())
          .as(name + " serves iSCSI").isTrue();
    }

    // a controller with a certificate of another CA: every engine refuses the handshake
    TestPki strangers = TestPki.create(dir, "strangers");
    EngineDirectory stranger = directory(TestPki.tls(strangers.issue("controller"), engineCa));
    await(() -> NAMES.stream().allMatch(n -> stranger.member(n).map(PoolMember::reachability)
        .orElse(null) == Reachability.PROBES_FAILING), Duration.ofSeconds(60),
        "the stranger's probes to fail");
    assertThat(stranger.byName("node-a").orElseThrow().status().message())
        .startsWith("3 probes in a row failed: UNAVAILABLE");
    assertThat(stranger.schedulable()).isEmpty();

    // SIGKILL of node-b: its Lease is no longer renewed, its admin API is gone
    PoolEngineProcess b = engines.get("node-b");
    leases.stop("node-b");
    long killed = System.nanoTime();
    b.kill();
    await(() -> state(directory, "node-b") == EngineState.UNREACHABLE,
        UNREACHABLE_BOUND.plus(SLACK), "node-b Unreachable");
    long unreachableMs = millisSince(killed);
    System.out.printf("pool: node-b Unreachable %d ms after SIGKILL (%s: %s)%n", unreachableMs,
        directory.member("node-b").orElseThrow().reachability(),
        directory.byName("node-b").orElseThrow().status().message());
    assertThat(Duration.ofMillis(unreachableMs)).isLessThan(UNREACHABLE_BOUND.plus(SLACK));
    for (String other : List.of("node-a", "node-c")) {
      assertThat(state(directory, other)).isEqualTo(EngineState.READY);
      Engine e = directory.byName(other).orElseThrow();
      e.client().createTarget("iqn.2026-11.org.example:while-b-down", "", Map.of());
      assertThat(e.client().listTargets(Map.of())).extracting(t -> t.getName())
          .contains("iqn.2026-11.org.example:while-b-down");
    }
    assertThat(directory.schedulable()).extracting(Engine::name)
        .containsExactly("node-a", "node-c");

    // restarted: a new incarnation in its Lease, Ready after it answered
    long restarted = System.nanoTime();
    b.start();
    String second = b.awaitServing();
    leases.keep("node-b", second);
    await(() -> state(directory, "node-b") == EngineState.READY, Duration.ofSeconds(60),
        "node-b Ready again");
    System.out.printf("pool: node-b Ready %d ms after its restart began%n",
        millisSince(restarted));
    assertThat(directory.member("node-b").orElseThrow().incarnation()).isEqualTo(second);
    assertThat(directory.byName("node-b").orElseThrow().client().info().getServing()).isTrue();
    assertThat(directory.schedulable()).hasSize(3);
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }
}
