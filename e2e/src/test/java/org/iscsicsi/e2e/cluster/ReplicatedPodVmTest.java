package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.iscsicsi.node.vm.QemuVm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A storage node's loss seen from a real pod (issue 14's headline, docs/replication.md sections
 * 8, 12 and 13): e2e/cluster/start.sh {@code --pool 3 --kubelet} (three engine processes on the
 * host serving replica streams, the controller with {@code --pool}, whose leader runs the
 * ReplicaSupervisor) and the VM node of {@link VmNode} with kubelet, containerd, the kernel
 * initiator and multipathd ({@link VmNode#bootWithMultipath}), so the node plugin stages the
 * replicated volume as one dm-multipath map over both members' portals. A busybox pod on an ext4
 * PVC of a {@code replicas: "2"} class writes 4 KiB records, each carrying its sequence number
 * and made durable with {@code dd conv=fsync}, and logs every acknowledged one with the guest's
 * uptime. Pins, per fault:
 *
 * <ul>
 *   <li><b>primary SIGKILL</b> (CI): the supervisor promotes the other member and it serves; the
 *       pod keeps writing with no I/O error and no container restart; the killed engine, started
 *       again, is Fenced and rebuilt to InSync; every acknowledged record reads back from the
 *       device (page cache dropped) in order; the members' LUN files are identical (SHA-256);
 *   <li><b>replica SIGKILL</b> (long tier): writes go on, the member is out of the in-sync set,
 *       started again it is rebuilt to InSync; records and LUN files as above;
 *   <li><b>primary SIGSTOP</b>, SIGCONT after the promotion (long tier): the frozen primary is
 *       replaced, deposed when it runs again and rebuilt; records and LUN files as above.
 * </ul>
 *
 * <p>Prints per fault the stall (longest gap between two acknowledged records), fault to the new
 * primary serving, and the rebuild time. Needs qemu and the binaries of build.sh, build-node.sh
 * and vm-node.sh: skipped with a reason when they are not there.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicatedPodVmTest {
  static final String NS = "replicated";
  static final int ENGINES = 3;
  static final String CLASS = "replicated-ext4";
  static final Duration WAIT = Duration.ofMinutes(5);
  /** Records acknowledged before a fault is injected, and after the writes resumed. */
  static final int RECORDS_BEFORE = 30;
  static final int RECORDS_AFTER = 40;
  static final ObjectMapper JSON = new ObjectMapper();

  static TestCluster cluster;
  static VmNode node;

  @BeforeAll
  static void startClusterAndNode() throws Exception {
    Path run = TestCluster.freshRun("replicated-pod-run");
    Optional<String> noVm = VmNode.unavailableReason(TestCluster.repoRoot());
    assumeTrue(noVm.isEmpty(), () -> "no VM node: " + noVm.orElse(""));
    Path nodeDir = VmNode.nodeDir(TestCluster.repoRoot());
    String chart = new Helm(TestCluster.repoRoot().resolve("helm/iscsi-csi")).template()
        .withName("iscsi-csi").withNamespace(TestCluster.NAMESPACE).withKubeVersion("v1.37.2")
        .set("engines.mode", "pool").call();
    Files.writeString(run.resolve("chart-pool.yaml"), chart);
    PoolClusterTest.writeTls(chart, "iscsi-csi-engine-tls", run.resolve("tls/engine"));
    PoolClusterTest.writeTls(chart, "iscsi-csi-controller-tls", run.resolve("tls/controller"));
    long t0 = System.nanoTime();
    node = VmNode.bootWithMultipath(nodeDir); // boots while the control plane starts
    cluster = TestCluster.startPoolForKubelet(run, ENGINES, QemuVm.HOST_ADDRESS);
    VolumeLifecycleTest.step("cluster start-up", "control plane, 3 engines",
        cluster.startUp);
    node.join(cluster);
    node.awaitReady(cluster, Duration.ofMinutes(10));
    for (String engine : List.of("node-a", "node-b", "node-c")) {
      await("IscsiEngine " + engine + " Ready", () -> "Ready".equals(cluster.k("get",
          "iscsiengine", engine, "-o", "jsonpath={.status.state}")) ? true : null);
    }
    VolumeLifecycleTest.step("node Ready", "VM launch to Node Ready and engines Ready",
        VolumeLifecycleTest.since(t0));
    cluster.apply("""
        apiVersion: v1
        kind: Namespace
        metadata: {name: replicated}
        """);
    cluster.apply(VolumeLifecycleTest.storageClass(CLASS, "Delete",
        "fsType: ext4\n  replicas: \"2\""));
  }

  @AfterAll
  static void stop() throws Exception {
    VmNode.stopWith(node, cluster);
  }

  /**
   * SIGKILL of the primary's engine under the pod's fsync'ed writes: promotion, no error seen by
   * the pod, the old primary fenced and rebuilt on restart, no acknowledged record lost.
   */
  @Test
  @Order(1)
  void aKilledPrimaryIsReplacedWithoutThePodNoticing() throws Exception {
    Writer w = Writer.start("kill-primary");
    Membership before = w.membership();
    String primary = before.primary();
    String other = before.otherThan(primary);
    w.awaitAcks(RECORDS_BEFORE);
    long t0 = System.nanoTime();
    cluster.killEngine(primary);
    Membership promoted = await("a promoted primary serving", () -> {
      Membership m = w.membership();
      return m.serving() && !m.primary().equals(primary) ? m : null;
    });
    Duration toServing = VolumeLifecycleTest.since(t0);
    assertThat(promoted.primary()).isEqualTo(other);
    assertThat(promoted.epoch()).isGreaterThan(before.epoch());
    assertThat(promoted.state(primary)).as("the killed primary's entry").isEqualTo("Fenced");
    int acked = w.lastAck();
    w.awaitAcks(acked + RECORDS_AFTER);

    long r0 = System.nanoTime();
    cluster.startEngine(primary);
    await(primary + " rebuilt to InSync", () -> "InSync".equals(w.membership().state(primary))
        ? true : null);
    Duration rebuild = VolumeLifecycleTest.since(r0);
    Result result = w.finish();
    report("primary SIGKILL", result, toServing, rebuild);
    assertThat(result.stall()).as("stall").isLessThan(Duration.ofSeconds(30));
  }

  /** SIGKILL of the replica's engine: writes go on, the restarted member is rebuilt to InSync. */
  @Test
  @Order(2)
  @Tag("long")
  void aKilledReplicaIsRebuiltWhileThePodWrites() throws Exception {
    Writer w = Writer.start("kill-replica");
    Membership before = w.membership();
    String replica = before.otherThan(before.primary());
    w.awaitAcks(RECORDS_BEFORE);
    long t0 = System.nanoTime();
    cluster.killEngine(replica);
    await(replica + " out of the in-sync set", () -> {
      String state = w.membership().state(replica);
      return !state.equals("InSync") ? state : null;
    });
    Duration removed = VolumeLifecycleTest.since(t0);
    assertThat(w.membership().primary()).isEqualTo(before.primary());
    w.awaitAcks(w.lastAck() + RECORDS_AFTER);
    long r0 = System.nanoTime();
    cluster.startEngine(replica);
    await(replica + " rebuilt to InSync", () -> "InSync".equals(w.membership().state(replica))
        ? true : null);
    Duration rebuild = VolumeLifecycleTest.since(r0);
    Result result = w.finish();
    report("replica SIGKILL", result, removed, rebuild);
  }

  /**
   * SIGSTOP of the primary's engine: promotion once its Lease expired; on SIGCONT it is deposed
   * and rebuilt; the pod saw no error and lost no acknowledged record.
   */
  @Test
  @Order(3)
  @Tag("long")
  void aFrozenPrimaryIsReplacedAndRebuiltWhenItResumes() throws Exception {
    Writer w = Writer.start("freeze-primary");
    Membership before = w.membership();
    String primary = before.primary();
    w.awaitAcks(RECORDS_BEFORE);
    long t0 = System.nanoTime();
    cluster.freezeEngine(primary, true);
    Duration toServing;
    try {
      await("a promoted primary serving", () -> {
        Membership m = w.membership();
        return m.serving() && !m.primary().equals(primary) ? m : null;
      });
      toServing = VolumeLifecycleTest.since(t0);
      w.awaitAcks(w.lastAck() + RECORDS_AFTER);
    } finally {
      cluster.freezeEngine(primary, false);
    }
    long r0 = System.nanoTime();
    await(primary + " rebuilt to InSync", () -> "InSync".equals(w.membership().state(primary))
        ? true : null);
    Duration rebuild = VolumeLifecycleTest.since(r0);
    Result result = w.finish();
    report("primary SIGSTOP", result, toServing, rebuild);
  }

  static void report(String fault, Result r, Duration toServing, Duration rebuild) {
    System.out.printf("[replicated-pod] %-16s records %d, stall %.2f s (longest gap between "
            + "acknowledged records), fault to %s %.1f s, rebuild to InSync %.1f s, LUN files "
            + "identical (SHA-256 %s)%n", fault, r.records(), r.stall().toMillis() / 1000.0,
        fault.startsWith("replica") ? "member out of sync" : "new primary serving",
        toServing.toMillis() / 1000.0, rebuild.toMillis() / 1000.0, r.sha256().substring(0, 16));
  }

  /** The volume's membership as its IscsiVolume shows it. */
  record Membership(String primary, long epoch, String phase, Map<String, String> states) {
    /** The primary serves: Serving, or Degraded while it is the only member in sync. */
    boolean serving() {
      return phase.equals("Serving") || phase.equals("Degraded");
    }

    String state(String engine) {
      return states.getOrDefault(engine, "");
    }

    String otherThan(String engine) {
      return states.keySet().stream().filter(e -> !e.equals(engine)).findFirst()
          .orElseThrow(() -> new AssertionError("no member besides " + engine + ": " + this));
    }
  }

  /** What the writer did: records acknowledged, the longest gap, the members' common hash. */
  record Result(int records, Duration stall, String sha256) {}

  /**
   * The writing pod of one fault: a PVC of the replicated class and a busybox pod on the VM node
   * that writes record after record to /data/rec (record {@code i}, 4 KiB, at block {@code i-1}:
   * a line {@code rec <i>} padded with spaces), each with {@code dd conv=fsync}, and logs
   * {@code ack <i> <uptime>} once dd succeeded, {@code error <i> ...} otherwise; it stops when
   * /tmp/stop exists and logs {@code done <last>}.
   */
  record Writer(String name, String pv, String handle) {
    static final String SCRIPT = "i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); "
        + "if printf \"%-4095s\\n\" \"rec $i\" | dd of=/data/rec bs=4096 seek=$((i-1)) count=1 "
        + "iflag=fullblock conv=fsync,notrunc 2>/tmp/dd.err; then read up rest </proc/uptime; "
        + "echo \"ack $i $up\"; else echo \"error $i $(cat /tmp/dd.err)\"; fi; done; "
        + "echo \"done $i\"; exec sleep 3600";

    static Writer start(String name) throws Exception {
      cluster.apply(PodVolumeTest.claim(name, CLASS, "128Mi", "Filesystem", "")
          .replace("namespace: " + PodVolumeTest.NS, "namespace: " + NS));
      String pv = await("PVC " + name + " Bound", () -> {
        String phase = cluster.k("get", "pvc", name, "-n", NS, "-o", "jsonpath={.status.phase}");
        return phase.equals("Bound") ? cluster.k("get", "pvc", name, "-n", NS, "-o",
            "jsonpath={.spec.volumeName}") : null;
      });
      String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
      long t0 = System.nanoTime();
      cluster.apply(PodVolumeTest.pod(name, name, "x")
          .replace("namespace: " + PodVolumeTest.NS, "namespace: " + NS)
          .replace("'set -e; out=$(x); echo \"$out\" | tee /dev/termination-log'",
              "'" + SCRIPT.replace("'", "''") + "'"));
      Writer w = new Writer(name, pv, handle);
      w.awaitAcks(1);
      VolumeLifecycleTest.step("writer pod " + name, "pod creation to its first fsync'ed record "
          + "on the multipath map", VolumeLifecycleTest.since(t0));
      Membership m = await("the IscsiVolume of " + handle, w::membership);
      assertThat(m.states()).as("members of " + handle).hasSize(2)
          .allSatisfy((engine, state) -> assertThat(state).isEqualTo("InSync"));
      assertThat(node.shell("multipath -ll")).as("the node's multipath map").contains("ISCSICSI");
      assertThat(cluster.k("exec", name, "-n", NS, "--", "grep", " /data ", "/proc/mounts"))
          .as("the pod's volume: the map").startsWith("/dev/mapper/3");
      return w;
    }

    Membership membership() throws Exception {
      JsonNode items = JSON.readTree(cluster.k("get", "iscsivolumes", "-o", "json"))
          .path("items");
      for (JsonNode v : items) {
        // named after the volume id, whose name part is the PV's (pool.<pv> or <engine>.<pv>)
        boolean ours = v.at("/metadata/name").asText().endsWith("." + pv)
            || v.at("/spec/volumeId").asText().endsWith("." + pv)
            || pv.equals(v.at("/spec/csiName").asText());
        if (ours && v.at("/status/replication").isObject()) {
          JsonNode r = v.at("/status/replication");
          Map<String, String> states = new TreeMap<>();
          r.path("members").forEach(m -> states.put(m.path("engine").asText(),
              m.path("state").asText()));
          return new Membership(r.path("primary").asText(), r.path("epoch").asLong(),
              r.path("phase").asText(), states);
        }
      }
      throw new IllegalStateException("no IscsiVolume with the membership of " + handle
          + " yet: " + items);
    }

    String log() throws Exception {
      return cluster.k("logs", name, "-n", NS);
    }

    int lastAck() throws Exception {
      return lastAck(log());
    }

    static int lastAck(String log) {
      List<String> acks = log.lines().filter(l -> l.startsWith("ack ")).toList();
      return acks.isEmpty() ? 0 : Integer.parseInt(acks.getLast().split(" ")[1]);
    }

    void awaitAcks(int records) throws Exception {
      await(name + " acknowledging record " + records, () -> {
        String log = log();
        if (log.contains("error ")) {
          throw new IllegalStateException(name + " saw an I/O error:\n" + log);
        }
        return lastAck(log) >= records ? true : null;
      });
    }

    /**
     * Stops the writer and checks what it did: no error line, no container restart, every
     * acknowledged record read back from the device in order (the guest's page cache dropped),
     * the members' LUN files identical. Deletes the pod.
     */
    Result finish() throws Exception {
      cluster.k("exec", name, "-n", NS, "--", "touch", "/tmp/stop");
      String log = await(name + " done", () -> {
        String l = log();
        return l.contains("done ") ? l : null;
      });
      List<String> lines = log.lines().toList();
      assertThat(lines).as("the writer's log").noneMatch(l -> l.startsWith("error "));
      List<double[]> acks = new ArrayList<>();
      for (String l : lines) {
        if (l.startsWith("ack ")) {
          String[] f = l.split(" ");
          acks.add(new double[] {Integer.parseInt(f[1]), Double.parseDouble(f[2])});
        }
      }
      int last = (int) acks.getLast()[0];
      assertThat(lines.getLast()).isEqualTo("done " + last);
      double stall = 0;
      for (int i = 1; i < acks.size(); i++) {
        assertThat(acks.get(i)[0]).as("acks in sequence").isEqualTo(acks.get(i - 1)[0] + 1);
        stall = Math.max(stall, acks.get(i)[1] - acks.get(i - 1)[1]);
      }
      assertThat(cluster.k("get", "pod", name, "-n", NS, "-o",
          "jsonpath={.status.containerStatuses[0].restartCount}")).isEqualTo("0");
      // read back from the device, not the page cache
      node.shell("sync; echo 3 > /proc/sys/vm/drop_caches");
      String check = cluster.k("exec", name, "-n", NS, "--", "awk",
          "NR != $2 + 0 || $1 != \"rec\" {bad++} END {print NR, bad + 0}", "/data/rec");
      assertThat(check).as("records in /data/rec, records out of place").isEqualTo(last + " 0");
      cluster.k("exec", name, "-n", NS, "--", "sync");
      String sha = await("the members' LUN files identical", () -> {
        List<String> sums = new ArrayList<>();
        for (String engine : membership().states().keySet()) {
          EngineView view = EngineView.read(cluster.run().resolve("engines").resolve(engine));
          Path file = view.target(handle).orElseThrow(() -> new AssertionError("no target of "
              + handle + " on " + engine)).luns().getFirst().file();
          sums.add(sha256(file));
        }
        return sums.stream().distinct().count() == 1 ? sums.getFirst() : null;
      });
      cluster.k("delete", "pod", name, "-n", NS, "--wait=true", "--timeout=300s");
      return new Result(last, Duration.ofMillis(Math.round(stall * 1000)), sha);
    }
  }

  static String sha256(Path file) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  static <T> T await(String what, Callable<T> probe) {
    return ClusterWait.until(what, WAIT, Duration.ofMillis(500), probe,
        e -> e instanceof IllegalStateException && e.getMessage() != null
            && e.getMessage().contains("I/O error"),
        () -> "logs in " + cluster.run().resolve("logs") + "\n" + node.logs());
  }
}
