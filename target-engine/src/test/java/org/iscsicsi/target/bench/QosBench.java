package org.iscsicsi.target.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.LoginSettings;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.qos.LunThrottle;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.SetLunQosRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;

/**
 * The QoS benchmark (target-engine/bench/run-qos.sh, docs/performance.md): an engine in this JVM
 * with one thick LUN, driven by libiscsi's {@code iscsi-perf} (reads) and {@code qemu-img bench}
 * (writes, qemu's libiscsi driver). Prints, as medians of the measured runs after the warm-up:
 *
 * <ul>
 *   <li>each limit (read IOPS, write IOPS, read bytes/s, write bytes/s) against what the engine's
 *       own counters show passing over a window, with clients that could go much faster;
 *   <li>how long a change takes to hold: from SetLunQos returning to the end of the first 100 ms
 *       in which the rate is within 10 % of the new limit, raising and lowering;
 *   <li>the latency cost of the limiter: 4 KiB reads at queue depth 1 (qemu-io) with no limit set
 *       and with limits set far above the load, so every command goes through the buckets; and
 *       what one admission costs in this JVM, with and without limits.
 * </ul>
 *
 * <p>Usage: {@code QosBench STATE_DIR PORT WARMUP RUNS SECONDS} (port 0: any free port).
 */
public final class QosBench {

  static final String IQN = "iqn.2026-11.org.iscsicsi:qos-bench";
  static final long LUN_BYTES = 256L << 20;
  static final long MIB = 1 << 20;
  /** Limits far above what the machine can do: the buckets run, never hold anything. */
  static final LunQos ENGAGED = LunQos.newBuilder().setReadIops(1L << 40).setWriteIops(1L << 40)
      .setReadBytesPerSecond(1L << 40).setWriteBytesPerSecond(1L << 40).build();

  /**
   * The burst of the limit rows: a held command takes two thread hops more than one that passes,
   * which on a loaded machine can leave the throttle's queue empty for a moment; a strictly paced
   * bucket (burst 0) loses those slots for good, 100 ms of burst gives them back and adds at most
   * 2 % over a 5 s window.
   */
  static final long BURST_MILLIS = 100;

  /** One limit and a client that would exceed it. */
  record Case(String name, LunQos limit, double limitValue,
      ToDoubleFunction<LunSampler.Rates> measured, List<String> client) {
  }

  private QosBench() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: QosBench STATE_DIR PORT WARMUP RUNS SECONDS");
      System.exit(2);
    }
    Path state = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    int warmup = Integer.parseInt(args[2]);
    int runs = Integer.parseInt(args[3]);
    int seconds = Integer.parseInt(args[4]);
    try (TargetEngine engine = TargetEngine.start(EngineConfig.of(state)
        .withPortal(new HostPort("127.0.0.1", port))
        .withLogin(LoginSettings.defaults().withPolicy(
            LoginPolicy.defaults().withDiscoveryAuth(false))))) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(IQN).build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(IQN).setLun(0)
          .setSizeBytes(LUN_BYTES).setThick(true).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(IQN)
          .setInitiator("ALL").build());
      String url = "iscsi://127.0.0.1:" + engine.iscsiAddress().port() + "/" + IQN + "/0";
      LunSampler sampler = new LunSampler(admin, IQN, 0);

      for (int i = 0; i < warmup; i++) {
        System.out.printf("warm-up round %d of %d%n", i + 1, warmup);
        runFor(List.of("iscsi-perf", "-m", "32", "-b", "8", "-r", "-t", "4", url), 3, sampler);
        runFor(IoClients.qemuWrite(url, LUN_BYTES, 32, 4096), 3, sampler);
        IoClients.latencies(url, LUN_BYTES, 500);
        setQos(admin, ENGAGED);
        IoClients.latencies(url, LUN_BYTES, 500);
        setQos(admin, LunQos.getDefaultInstance());
      }

      List<Case> cases = List.of(
          new Case("read IOPS", limit().setReadIops(2000).build(), 2000,
              LunSampler.Rates::readIops, IoClients.perf(url, 64, 8, seconds)),
          new Case("write IOPS", limit().setWriteIops(1000).build(), 1000,
              LunSampler.Rates::writeIops, IoClients.qemuWrite(url, LUN_BYTES, 64, 4096)),
          new Case("read MiB/s", limit().setReadBytesPerSecond(64 * MIB).build(), 64,
              r -> r.readBytesPerSecond() / MIB, IoClients.perf(url, 16, 2048, seconds)),
          new Case("write MiB/s", limit().setWriteBytesPerSecond(32 * MIB).build(), 32,
              r -> r.writeBytesPerSecond() / MIB, IoClients.qemuWrite(url, LUN_BYTES, 8, 1 << 20)));
      System.out.printf("%nlimits, %d runs of %d s each (engine counters; burst %d ms):%n", runs,
          seconds, BURST_MILLIS);
      System.out.println("| limit | set | unlimited client | measured (median) | "
          + "measured / set | runs |");
      System.out.println("|---|---:|---:|---:|---:|---|");
      for (Case c : cases) {
        setQos(admin, LunQos.getDefaultInstance());
        double free = c.measured().applyAsDouble(runFor(c.client(), 2, sampler));
        double[] got = new double[runs];
        for (int i = 0; i < runs; i++) {
          setQos(admin, c.limit());
          got[i] = c.measured().applyAsDouble(runFor(c.client(), seconds, sampler));
        }
        setQos(admin, LunQos.getDefaultInstance());
        System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.1f | %.3f | %s |%n", c.name(),
            c.limitValue(), free, median(got), median(got) / c.limitValue(), join(got));
      }

      System.out.printf("%nchange taking hold (read IOPS, iscsi-perf QD32; time from SetLunQos "
          + "returning to the end of the first 100 ms within 10 %% of the new limit):%n");
      double[] up = new double[runs];
      double[] down = new double[runs];
      Process p = IoClients.start(IoClients.perf(url, 32, 8, runs * 8 + 10));
      try {
        sampler.awaitTraffic(10_000);
        for (int i = 0; i < runs; i++) {
          setQos(admin, LunQos.newBuilder().setReadIops(500).build());
          Thread.sleep(1500);
          up[i] = takesHold(admin, sampler, 2000);
          Thread.sleep(1500);
          down[i] = takesHold(admin, sampler, 500);
        }
      } finally {
        IoClients.stop(p);
        setQos(admin, LunQos.getDefaultInstance());
      }
      System.out.printf(Locale.ROOT, "500 -> 2000 IOPS: median %.0f ms (runs %s)%n", median(up),
          join(up));
      System.out.printf(Locale.ROOT, "2000 -> 500 IOPS: median %.0f ms (runs %s)%n",
          median(down), join(down));

      System.out.printf("%nlimiter cost, 4 KiB reads at QD1 (qemu-io, 2000 reads per run, "
          + "%d runs alternating):%n", runs);
      double[][] none = new double[2][runs];
      double[][] engaged = new double[2][runs];
      for (int i = 0; i < runs; i++) {
        setQos(admin, LunQos.getDefaultInstance());
        double[] a = IoClients.latencies(url, LUN_BYTES, 2000);
        setQos(admin, ENGAGED);
        double[] b = IoClients.latencies(url, LUN_BYTES, 2000);
        none[0][i] = a[0];
        none[1][i] = a[1];
        engaged[0][i] = b[0];
        engaged[1][i] = b[1];
      }
      setQos(admin, LunQos.getDefaultInstance());
      System.out.printf(Locale.ROOT, "throttle admission per command, in this JVM: no limit "
          + "%.1f ns, limits set and never hit %.1f ns%n", admissionNanos(QosLimits.NONE),
          admissionNanos(new QosLimits(1L << 40, 1L << 40, 1L << 40, 1L << 40, 1000)));
      System.out.printf(Locale.ROOT, "no limit set:           p50 %.1f us, p99 %.1f us "
          + "(p50 runs %s)%n", median(none[0]), median(none[1]), join(none[0]));
      System.out.printf(Locale.ROOT, "limits set, never hit:  p50 %.1f us, p99 %.1f us "
          + "(p50 runs %s)%n", median(engaged[0]), median(engaged[1]), join(engaged[0]));
    }
  }

  /** Nanoseconds one {@link LunThrottle#submit} takes, after 20 million to warm the JIT. */
  static double admissionNanos(QosLimits limits) {
    LunThrottle throttle = new LunThrottle();
    throttle.setLimits(limits);
    long[] ran = new long[1];
    LunThrottle.Admitted count = deferred -> ran[0]++;
    Runnable refused = () -> { };
    int n = 20_000_000;
    for (int i = 0; i < n; i++) {
      throttle.submit(false, 4096, count, refused);
    }
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      throttle.submit(false, 4096, count, refused);
    }
    double perCall = (System.nanoTime() - t0) / (double) n;
    if (ran[0] != 2L * n) {
      throw new IllegalStateException("the throttle held commands it should have passed");
    }
    return perCall;
  }

  static LunQos.Builder limit() {
    return LunQos.newBuilder().setBurstMillis(BURST_MILLIS);
  }

  static void setQos(TargetAdminBlockingStub admin, LunQos qos) {
    admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(IQN).setLun(0).setQos(qos).build());
  }

  /**
   * Sets the read limit to {@code iops} and returns the milliseconds until a 100 ms window
   * within 10 % of it ends (NaN when none did within 3 s).
   */
  static double takesHold(TargetAdminBlockingStub admin, LunSampler sampler, double iops)
      throws InterruptedException {
    setQos(admin, LunQos.newBuilder().setReadIops((long) iops).build());
    long t0 = System.nanoTime();
    List<LunSampler.Sample> s = sampler.series(20, 150);
    for (int i = 0; i + 5 < s.size(); i++) {
      double rate = LunSampler.between(s.get(i), s.get(i + 5)).readIops();
      if (Math.abs(rate - iops) <= iops * 0.1) {
        return (s.get(i + 5).nanos() - t0) / 1e6;
      }
    }
    return Double.NaN;
  }

  /** Starts {@code client}, waits for traffic and a second more, measures over {@code s}. */
  static LunSampler.Rates runFor(List<String> client, int s, LunSampler sampler)
      throws Exception {
    Process p = IoClients.start(client);
    try {
      if (!sampler.awaitTraffic(10_000)) {
        throw new IllegalStateException(String.join(" ", client) + " did no I/O in 10 s");
      }
      Thread.sleep(1000);
      return sampler.over(s * 1000L);
    } finally {
      IoClients.stop(p);
    }
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static String join(double[] v) {
    StringBuilder b = new StringBuilder();
    for (double x : v) {
      b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.1f", x));
    }
    return b.toString();
  }
}
