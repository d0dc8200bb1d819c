package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.kube.PoolFixture.await;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.kube.PoolEngineProcess;
import org.iscsicsi.controller.kube.PoolFixture;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.controller.volume.PlacementPolicy;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool at scale, a benchmark that prints figures (docs/performance.md, "Pool at scale"),
 * not a test: surefire's default includes leave it out; run it with
 * {@code ./mvnw -pl controller -am test -Dtest=PoolScaleBench} (after {@code ./mvnw -pl
 * target-engine -am package -DskipTests}). {@code bench.engines} (default 10) {@code target-engine
 * serve --kubernetes} processes register in fabric8's mock API server; the controller's
 * ControllerService over the real EngineDirectory, informers and probe loop (mutual TLS) runs in
 * this JVM; {@code bench.clients} (default 8) threads create {@code bench.volumes} (default 1000)
 * volumes of 1 MiB. Prints CreateVolume latency p50/p99/max and rate, the time of one placement
 * (the policy with a live capacity call to every engine, as CreateVolume runs it) p50/p99,
 * ListVolumes whole and in pages of 100, and the controller's heap after a GC. Asserts only
 * that every volume was created once and spread over every engine.
 */
@EnableKubernetesMockClient(crud = true)
class PoolScaleBench {

  static final int ENGINES = Integer.getInteger("bench.engines", 10);
  static final int VOLUMES = Integer.getInteger("bench.volumes", 1000);
  static final int CLIENTS = Integer.getInteger("bench.clients", 8);
  static final int PLACEMENTS = 200;
  static final long MIB = 1 << 20;
  static final Duration JOIN = Duration.ofMinutes(5);

  static KubernetesClient client;
  static KubernetesMockServer server;

  static {
    PoolFixture.MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  @TempDir Path dir;
  final Map<String, PoolEngineProcess> engines = new LinkedHashMap<>();
  final List<AutoCloseable> closing = new ArrayList<>();
  Server csiServer;
  ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      csiServer.shutdownNow();
      csiServer.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.stop();
    }
  }

  @Test
  void createListAndHeap() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki engineCa = TestPki.create(dir, "engines");
    TestPki controllerCa = TestPki.create(dir, "controllers");
    TestPki.Identity engineCert = engineCa.issue("engine",
        List.of(RemoteEngine.POOL_SERVER_NAME));
    PoolFixture pool = new PoolFixture(server, client);
    pool.installCrd();
    Path kubeconfig = pool.kubeconfig(dir);
    long t0 = System.nanoTime();
    for (int i = 0; i < ENGINES; i++) {
      String name = "node-" + i;
      pool.storageNode(name);
      PoolEngineProcess e = new PoolEngineProcess(name, dir, engineCert, controllerCa,
          kubeconfig);
      engines.put(name, e);
      e.start();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.awaitServing();
    }
    EngineDirectory directory = pool.directory(
        TestPki.tls(controllerCa.issue("controller"), engineCa), closing);
    await(() -> engines.keySet().stream().allMatch(n -> directory.byName(n)
        .map(Engine::state).orElse(null) == EngineState.READY), JOIN, "every engine Ready");
    long joinMs = millisSince(t0);
    String name = "pool-bench-" + UUID.randomUUID();
    ControllerService controller = new ControllerService(directory, ControllerConfig.defaults(),
        () -> true, ClusterObjects.NONE);
    csiServer = InProcessServerBuilder.forName(name).executor(Executors.newFixedThreadPool(
        CLIENTS)).addService(controller).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    ControllerGrpc.ControllerBlockingStub csi = ControllerGrpc.newBlockingStub(channel);

    // CreateVolume from CLIENTS threads; the first CLIENTS * 4 warm the JIT and are not counted
    int warmup = Math.min(CLIENTS * 4, VOLUMES / 10);
    createAll(csi, 0, warmup);
    long createStart = System.nanoTime();
    long[] latencies = createAll(csi, warmup, VOLUMES);
    long createMs = millisSince(createStart);

    // one placement as CreateVolume makes it: the policy over live capacity calls
    Map<String, Integer> perEngine = perEngine(directory);
    Placement.Demand demand = new Placement.Demand("bench", MIB, false, PoolLimits.NONE,
        Csi.TopologyRequirement.getDefaultInstance(), PlacementPolicy.LEAST_ALLOCATED);
    long[] placements = new long[PLACEMENTS];
    for (int i = 0; i < PLACEMENTS; i++) {
      long s = System.nanoTime();
      Placement.order(directory.all(), demand, new Placement.Survey(
          e -> e.client().capacity(), perEngine, perEngine));
      placements[i] = System.nanoTime() - s;
    }

    long listStart = System.nanoTime();
    int listed = csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesCount();
    long listMs = millisSince(listStart);
    long pagedStart = System.nanoTime();
    int paged = 0;
    int pages = 0;
    String token = "";
    do {
      Csi.ListVolumesResponse r = csi.listVolumes(Csi.ListVolumesRequest.newBuilder()
          .setMaxEntries(100).setStartingToken(token).build());
      paged += r.getEntriesCount();
      pages++;
      token = r.getNextToken();
    } while (!token.isEmpty());
    long pagedMs = millisSince(pagedStart);
    System.gc();
    long heapMib = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;

    assertThat(listed).isEqualTo(VOLUMES);
    assertThat(paged).isEqualTo(VOLUMES);
    assertThat(perEngine(directory)).hasSize(ENGINES).values().allSatisfy(n ->
        assertThat(n).isPositive());
    Arrays.sort(latencies);
    Arrays.sort(placements);
    int counted = latencies.length;
    System.out.printf("pool scale: %d engines Ready %d ms after start; %d cores, load %.1f%n",
        ENGINES, joinMs, Runtime.getRuntime().availableProcessors(),
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    System.out.printf("pool scale: CreateVolume x %d (%d clients, after %d warm-up): p50 %.1f ms, "
        + "p99 %.1f ms, max %.1f ms, %.1f volumes/s%n", counted, CLIENTS, warmup,
        ms(pct(latencies, 50)), ms(pct(latencies, 99)), ms(latencies[counted - 1]),
        counted * 1000.0 / createMs);
    System.out.printf("pool scale: placement over %d engines (live capacity calls) x %d: "
        + "p50 %.2f ms, p99 %.2f ms%n", ENGINES, PLACEMENTS, ms(pct(placements, 50)),
        ms(pct(placements, 99)));
    System.out.printf("pool scale: ListVolumes of %d: whole %d ms, %d pages of 100 %d ms; "
        + "heap after GC %d MiB; volumes per engine %s%n", VOLUMES, listMs, pages, pagedMs,
        heapMib, perEngine(directory).values());
  }

  /** Creates volumes {@code from} to {@code to} from CLIENTS threads; their latencies. */
  private static long[] createAll(ControllerGrpc.ControllerBlockingStub csi, int from, int to)
      throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try {
      List<Future<Long>> calls = new ArrayList<>();
      for (int i = from; i < to; i++) {
        String pvc = "bench-" + i;
        calls.add(clients.submit(() -> {
          long s = System.nanoTime();
          csi.createVolume(createRequest(pvc, MIB).build());
          return System.nanoTime() - s;
        }));
      }
      long[] out = new long[calls.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = calls.get(i).get();
      }
      return out;
    } finally {
      clients.shutdownNow();
    }
  }

  /** Volumes per engine, read from the engines themselves. */
  private static Map<String, Integer> perEngine(EngineDirectory directory) {
    Map<String, Integer> out = new HashMap<>();
    for (Engine e : directory.all()) {
      out.put(e.name(), e.client().listTargets(VolumeLabels.selector(
          ControllerConfig.defaults().driverName())).size());
    }
    return out;
  }

  private static long pct(long[] sorted, int p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * p / 100.0) - 1)];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }
}
