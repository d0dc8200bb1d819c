package org.iscsicsi.target.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.registry.LunSpec;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.state.StateStore;

/**
 * Benchmark of the engine's state at scale (docs/performance.md), not a test: the cost of one
 * configuration change (a grant, then its revoke) with 10, 1 000 and 10 000 volumes defined;
 * volume creation (CreateTarget + CreateLun through the registry, in process) by 16 concurrent
 * callers with 10 000 volumes defined, p50/p99 and volumes/s; and, given the engine's launcher,
 * the time from starting {@code target-engine serve} on a state of 1 000 LUNs until its iSCSI
 * portal accepts a connection, after a SIGKILL of the previous run (median of several).
 * Each measurement follows an unmeasured warm-up of the same operation (the JIT).
 *
 * <p>Usage: StateBench WORK_DIR [LAUNCHER]
 */
public final class StateBench {

  static final int CHANGES = 400;
  static final int WARMUP = 200;
  static final int CALLERS = 16;
  static final int CONCURRENT_CREATES = 2000;
  static final int RESTARTS = 5;
  static final String INI = "iqn.2026-11.org.example:bench-initiator";

  private StateBench() {
  }

  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[0]);
    for (int n : new int[] {10, 1000, 10_000}) {
      Path dir = work.resolve("n" + n);
      try (StateStore store = StateStore.open(dir.resolve("state"))) {
        TargetRegistry reg = open(store, dir);
        populate(reg, "v", n);
        String t = name("v", 0);
        for (int i = 0; i < WARMUP; i++) {
          change(reg, t, i);
        }
        long[] ns = new long[CHANGES];
        for (int i = 0; i < CHANGES; i++) {
          long t0 = System.nanoTime();
          change(reg, t, i);
          ns[i] = System.nanoTime() - t0;
        }
        System.out.printf("change with %6d volumes: p50 %6.2f ms  p99 %6.2f ms  (journal %d "
            + "bytes, state.json %d bytes)%n", n, pct(ns, 50), pct(ns, 99), store.journalBytes(),
            Files.size(store.stateFile()));
        if (n == 10_000) {
          concurrentCreates(reg);
        }
        reg.close();
      }
    }
    if (args.length > 1) {
      restarts(work.resolve("restart"), Path.of(args[1]));
    }
  }

  static TargetRegistry open(StateStore store, Path dir) throws IOException {
    return TargetRegistry.open(store, dir.resolve("luns"), dir.resolve("snaps"),
        Duration.ofMinutes(5));
  }

  static String name(String prefix, int i) {
    return "iqn.2026-11.org.example:" + prefix + "-" + i;
  }

  static void populate(TargetRegistry reg, String prefix, int n) {
    for (int i = 0; i < n; i++) {
      createVolume(reg, name(prefix, i));
    }
  }

  static void createVolume(TargetRegistry reg, String name) {
    reg.createTarget(name, "", Map.of("pvc", name.substring(name.lastIndexOf(':') + 1)),
        Map.of());
    reg.createLun(new LunSpec(name, 0, 1 << 20, 0, false, false, new LunSpec.Empty()));
  }

  static void change(TargetRegistry reg, String target, int i) {
    if (i % 2 == 0) {
      reg.grant(target, INI, false);
    } else {
      reg.revoke(target, INI);
    }
  }

  static void concurrentCreates(TargetRegistry reg) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    try {
      run(pool, reg, "warm", CONCURRENT_CREATES / 4); // JIT warm-up, unmeasured
      long t0 = System.nanoTime();
      long[] ns = run(pool, reg, "c", CONCURRENT_CREATES);
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("CreateVolume, %d callers, 10 000+ volumes: p50 %.2f ms  p99 %.2f ms  "
          + "%.0f volumes/s (%d volumes)%n", CALLERS, pct(ns, 50), pct(ns, 99),
          CONCURRENT_CREATES / s, CONCURRENT_CREATES);
    } finally {
      pool.shutdownNow();
    }
  }

  static long[] run(ExecutorService pool, TargetRegistry reg, String prefix, int n)
      throws Exception {
    List<Future<Long>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = name(prefix, i);
      fs.add(pool.submit(() -> {
        long t0 = System.nanoTime();
        createVolume(reg, name);
        return System.nanoTime() - t0;
      }));
    }
    long[] ns = new long[n];
    for (int i = 0; i < n; i++) {
      ns[i] = fs.get(i).get();
    }
    return ns;
  }

  static void restarts(Path dir, Path launcher) throws Exception {
    try (StateStore store = StateStore.open(dir.resolve("state"))) {
      TargetRegistry reg = open(store, dir.resolve("state"));
      for (int i = 0; i < 200; i++) {
        String t = name("r", i);
        reg.createTarget(t, "", Map.of(), Map.of());
        for (int l = 0; l < 5; l++) {
          reg.createLun(new LunSpec(t, l, 1 << 20, 0, false, false, new LunSpec.Empty()));
        }
      }
      reg.close();
    }
    long[] ns = new long[RESTARTS + 1];
    for (int r = 0; r <= RESTARTS; r++) {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      var pb = new ProcessBuilder(launcher.toString(), "serve", "--state-dir",
          dir.resolve("state").toString(), "--portal", "127.0.0.1:" + port, "--admin", "none")
          .redirectErrorStream(true).redirectOutput(dir.resolve("engine.log").toFile());
      long t0 = System.nanoTime();
      Process p = pb.start();
      while (!accepts(port)) {
        if (!p.isAlive()) {
          throw new IllegalStateException("engine exited; see " + dir.resolve("engine.log"));
        }
        Thread.sleep(5);
      }
      ns[r] = System.nanoTime() - t0;
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL, as in a crash
    }
    long[] measured = Arrays.copyOfRange(ns, 1, ns.length); // the first run fills the page cache
    System.out.printf("restart to serving (portal accepts) with 1000 LUNs after SIGKILL: "
        + "median %.0f ms, min %.0f, max %.0f (%d runs: %s ms)%n", pct(measured, 50),
        Arrays.stream(measured).min().orElseThrow() / 1e6,
        Arrays.stream(measured).max().orElseThrow() / 1e6, RESTARTS,
        Arrays.toString(Arrays.stream(measured).map(x -> x / 1_000_000).toArray()));
  }

  static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static double pct(long[] ns, int p) {
    long[] s = ns.clone();
    Arrays.sort(s);
    int i = Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1);
    return s[Math.max(0, i)] / 1e6;
  }
}
