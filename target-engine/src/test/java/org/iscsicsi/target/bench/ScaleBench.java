package org.iscsicsi.target.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.Session;
import org.iscsicsi.target.v1.TargetAdminGrpc;

/**
 * The scale half of the benchmark (target-engine/bench/run-scale.sh, docs/performance.md): an
 * engine in this JVM with many LUNs (targets x LUNs each), then one idle session per target opened
 * by a minimal login (RFC 7143 section 6: security stage, then operational stage, then the full
 * feature phase) whose latency is timed, then one libiscsi {@code iscsi-perf} per target reading
 * at once, to show how evenly throughput is shared. Prints heap and RSS per LUN and per idle
 * session, login latency p50/p99 and per-session IOPS over one common window, from the
 * engine's own per-session counters, with Jain's fairness index.
 *
 * <p>Usage: {@code ScaleBench STATE_DIR PORT TARGETS LUNS_PER_TARGET IO_SECONDS}. The idle
 * sessions' client sockets live in this JVM too; they weigh a few hundred bytes each.
 */
public final class ScaleBench {


  private ScaleBench() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: ScaleBench STATE_DIR PORT TARGETS LUNS_PER_TARGET IO_SECONDS");
      System.exit(2);
    }
    Path state = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    int targets = Integer.parseInt(args[2]);
    int lunsPerTarget = Integer.parseInt(args[3]);
    int ioSeconds = Integer.parseInt(args[4]);
    try (TargetEngine engine = TargetEngine.start(EngineConfig.of(state)
        .withPortal(new HostPort("127.0.0.1", port)).withNopInterval(Duration.ofMinutes(30)))) {
      var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      Memory empty = Memory.now();
      long started = System.nanoTime();
      for (int t = 0; t < targets; t++) {
        String name = iqn(t);
        admin.createTarget(CreateTargetRequest.newBuilder().setName(name).build());
        for (int l = 0; l < lunsPerTarget; l++) {
          admin.createLun(CreateLunRequest.newBuilder().setTarget(name).setLun(l)
              .setSizeBytes(64L << 20).build());
        }
        admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(name)
            .setInitiator("ALL").build());
      }
      double createSeconds = (System.nanoTime() - started) / 1e9;
      Memory withLuns = Memory.now();
      int luns = targets * lunsPerTarget;
      System.out.printf("%d LUNs on %d targets created in %.1f s (%.1f ms each)%n", luns,
          targets, createSeconds, createSeconds * 1000 / luns);
      System.out.printf("per LUN: heap %.1f KiB, RSS %.1f KiB%n",
          (withLuns.heap - empty.heap) / 1024.0 / luns, (withLuns.rss - empty.rss) / 1024.0 / luns);

      List<Socket> idle = new ArrayList<>();
      long[] loginNanos = new long[targets];
      try {
        for (int t = 0; t < targets; t++) {
          long t0 = System.nanoTime();
          idle.add(login(port, t));
          loginNanos[t] = System.nanoTime() - t0;
        }
        Memory withSessions = Memory.now();
        Arrays.sort(loginNanos);
        System.out.printf("%d idle sessions: per session heap %.1f KiB, RSS %.1f KiB%n", targets,
            (withSessions.heap - withLuns.heap) / 1024.0 / targets,
            (withSessions.rss - withLuns.rss) / 1024.0 / targets);
        System.out.printf("login latency (TCP connect to final Login Response): p50 %.2f ms, "
            + "p99 %.2f ms%n", loginNanos[targets / 2] / 1e6,
            loginNanos[Math.min(targets - 1, (int) (targets * 0.99))] / 1e6);
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
      fairness(admin, port, targets, ioSeconds);
    }
  }

  /**
   * One iscsi-perf per target at once (4 KiB random reads, QD 4). Fairness is measured from the
   * engine's own per-session counters (Data-In bytes, as {@code iscsiadm --stats} names them)
   * over one window that starts once every session is logged in and reading, so clients that
   * start or end a little apart do not skew it.
   */
  private static void fairness(TargetAdminGrpc.TargetAdminBlockingStub admin, int port,
      int sessions, int seconds) throws Exception {
    List<Process> procs = new ArrayList<>();
    try {
      for (int t = 0; t < sessions; t++) {
        // Runs well past the window; stopped once it is measured.
        procs.add(new ProcessBuilder("iscsi-perf", "-i", "iqn.2026-11.org.iscsicsi:perf-" + t,
            "-m", "4", "-b", "8", "-r", "-t", Integer.toString(seconds + 120),
            "iscsi://127.0.0.1:" + port + "/" + iqn(t) + "/0")
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      Map<String, Long> before = readBytes(admin);
      while (before.size() < sessions || before.containsValue(0L)) {
        if (System.nanoTime() > deadline) {
          System.out.printf("fairness: only %d of %d sessions were reading after 120 s%n",
              before.values().stream().filter(v -> v > 0).count(), sessions);
          return;
        }
        Thread.sleep(200);
        before = readBytes(admin);
      }
      long t0 = System.nanoTime();
      Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
      Map<String, Long> after = readBytes(admin);
      double window = (System.nanoTime() - t0) / 1e9;
      List<Double> iops = new ArrayList<>();
      for (var e : before.entrySet()) {
        long delta = after.getOrDefault(e.getKey(), e.getValue()) - e.getValue();
        iops.add(delta / 4096.0 / window);
      }
      iops.sort(null);
      double sum = 0;
      double squares = 0;
      for (double v : iops) {
        sum += v;
        squares += v * v;
      }
      double jain = squares == 0 ? 0 : sum * sum / (iops.size() * squares);
      System.out.printf("%d concurrent sessions (4 KiB random reads, QD4, common window %.1f s,"
          + " engine counters): total %.0f IOPS, per session min %.0f, median %.0f, max %.0f,"
          + " Jain's fairness index %.3f (1 = equal)%n", iops.size(), window, sum,
          iops.getFirst(), iops.get(iops.size() / 2), iops.getLast(), jain);
    } finally {
      procs.forEach(Process::destroyForcibly);
      for (Process p : procs) {
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Data-In bytes sent so far, per normal session (keyed by target, initiator and ISID). */
  private static Map<String, Long> readBytes(TargetAdminGrpc.TargetAdminBlockingStub admin) {
    Map<String, Long> bytes = new HashMap<>();
    for (Session s : admin.listSessions(ListSessionsRequest.getDefaultInstance())
        .getSessionsList()) {
      if (!s.getDiscovery()) {
        bytes.put(s.getTarget() + " " + s.getInitiator() + " " + s.getIsid(),
            s.getStatistics().getTxdataOctets());
      }
    }
    return bytes;
  }

  static String iqn(int t) {
    return "iqn.2026-11.org.iscsicsi:scale-" + t;
  }

  /** A minimal login with no authentication; returns the socket in the full feature phase. */
  static Socket login(int port, int n) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    s.setSoTimeout(30_000);
    try {
      byte[] isid = {(byte) 0x80, 0x12, 0x34, 0x56, (byte) (n >> 8), (byte) n};
      String security = "InitiatorName=iqn.2026-11.org.iscsicsi:scale-initiator-" + n
          + "\0TargetName=" + iqn(n) + "\0SessionType=Normal\0AuthMethod=None\0";
      int statSn = exchange(s, isid, n, 0, 1, security, 0);
      String operational = "HeaderDigest=None\0DataDigest=None\0"
          + "MaxRecvDataSegmentLength=262144\0ErrorRecoveryLevel=0\0";
      exchange(s, isid, n, 1, 3, operational, statSn + 1);
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** Sends one Login Request (transit to {@code nsg}) and reads its response; returns StatSN. */
  private static int exchange(Socket s, byte[] isid, int itt, int csg, int nsg, String keys,
      int expStatSn) throws IOException {
    byte[] data = keys.getBytes(StandardCharsets.UTF_8);
    int padded = (data.length + 3) & ~3;
    ByteBuffer pdu = ByteBuffer.allocate(48 + padded);
    pdu.put((byte) 0x43).put((byte) (0x80 | csg << 2 | nsg)).put((byte) 0).put((byte) 0);
    pdu.putInt(data.length); // TotalAHSLength 0, then DataSegmentLength
    pdu.put(isid).putShort((short) 0).putInt(itt).putShort((short) 0).putShort((short) 0);
    pdu.putInt(0).putInt(expStatSn); // CmdSN, ExpStatSN
    pdu.position(48);
    pdu.put(data);
    OutputStream out = s.getOutputStream();
    out.write(pdu.array());
    out.flush();
    DataInputStream in = new DataInputStream(s.getInputStream());
    byte[] bhs = new byte[48];
    in.readFully(bhs);
    ByteBuffer r = ByteBuffer.wrap(bhs);
    int length = r.getInt(4) & 0xffffff;
    in.readFully(new byte[(length + 3) & ~3]);
    if ((bhs[0] & 0x3f) != 0x23 || bhs[36] != 0) {
      throw new IOException(String.format("login to %s failed: opcode 0x%02x status 0x%02x%02x",
          iqn(itt), bhs[0] & 0x3f, bhs[36], bhs[37]));
    }
    if ((bhs[1] & 0x80) == 0 || (bhs[1] & 3) != nsg) {
      throw new IOException("target did not move to stage " + nsg + " for " + iqn(itt));
    }
    return r.getInt(24);
  }

  /** Heap after a full GC, and resident set size, in bytes. */
  private record Memory(long heap, long rss) {
    static Memory now() throws IOException, InterruptedException {
      for (int i = 0; i < 3; i++) {
        System.gc();
        Thread.sleep(200);
      }
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      long rss = 0;
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
      return new Memory(heap, rss);
    }
  }
}
