package org.iscsicsi.target.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.iscsicsi.target.login.LoginStatus;
import org.iscsicsi.target.lun.IoLatency;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunCounters;
import org.iscsicsi.target.qos.LunThrottle;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.replication.Rebuilder;
import org.iscsicsi.target.scsi.AluaGroups;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.session.SessionInfo;
import org.iscsicsi.target.session.SessionInfo.SessionCounters;
import org.iscsicsi.target.session.SessionRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's metrics, collected at scrape time from the counters the LUNs and sessions keep
 * (LongAdders written on the I/O path without locks). Every metric is documented in
 * docs/metrics.md; register it in a {@link PrometheusRegistry} or render it with {@link
 * #writeText(OutputStream)}.
 */
public final class EngineMetrics implements MultiCollector {

  private static final Logger log = LoggerFactory.getLogger(EngineMetrics.class);

  private final TargetDirectory directory;
  private final Supplier<SessionRegistry> sessions;
  private final Supplier<List<Rebuilder.Figures>> rebuilds;

  /**
   * @param directory the targets and their LUNs
   * @param sessions the live sessions; may supply null when the iSCSI listener is off
   * @param rebuilds the rebuild figures of the replicated LUNs this engine serves as primary
   */
  public EngineMetrics(TargetDirectory directory, Supplier<SessionRegistry> sessions,
      Supplier<List<Rebuilder.Figures>> rebuilds) {
    this.directory = directory;
    this.sessions = sessions;
    this.rebuilds = rebuilds;
  }

  /** A registry holding only these metrics. */
  public PrometheusRegistry registry() {
    PrometheusRegistry r = new PrometheusRegistry();
    r.register(this);
    return r;
  }

  /** Writes the metrics in the Prometheus text format (version 0.0.4). */
  public void writeText(OutputStream out) throws IOException {
    PrometheusTextFormatWriter.create().write(out, collect());
  }

  @Override
  public List<String> getPrometheusNames() {
    return List.of("iscsi_lun_read_ops", "iscsi_lun_write_ops", "iscsi_lun_read_bytes",
        "iscsi_lun_write_bytes", "iscsi_lun_io_latency_seconds", "iscsi_lun_provisioned_bytes",
        "iscsi_lun_allocated_bytes", "iscsi_lun_throttled_seconds",
        "iscsi_lun_throttled_commands", "iscsi_lun_qos_refused_commands",
        "iscsi_lun_alua_state", "iscsi_targets", "iscsi_sessions_active", "iscsi_logins",
        "iscsi_session_txdata_octets", "iscsi_session_rxdata_octets",
        "iscsi_session_scsicmd_pdus", "iscsi_session_dataout_pdus", "iscsi_session_r2t_pdus",
        "iscsi_session_digest_errors", "iscsi_session_timeouts",
        "iscsicsi_replication_rebuild_remaining_bytes", "iscsicsi_replication_rebuild_bytes");
  }

  @Override
  public MetricSnapshots collect() {
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    collectLuns(out);
    collectSessions(out);
    collectRebuilds(out);
    return out.build();
  }

  // ---------------------------------------------------------------- replication

  private void collectRebuilds(MetricSnapshots.Builder out) {
    List<Rebuilder.Figures> figures;
    try {
      figures = rebuilds.get();
    } catch (RuntimeException e) {
      log.warn("rebuild figures not collected: {}", e.toString());
      return;
    }
    GaugeSnapshot.Builder remaining = GaugeSnapshot.builder()
        .name("iscsicsi_replication_rebuild_remaining_bytes")
        .help("Bytes the running rebuild of the volume's member has still to compare (0: none).");
    CounterSnapshot.Builder copied = CounterSnapshot.builder()
        .name("iscsicsi_replication_rebuild_bytes")
        .help("Region bytes sent to members by the volume's rebuilds.");
    for (Rebuilder.Figures f : figures) {
      Labels labels = Labels.of("volume", f.volume());
      remaining.dataPoint(gauge(f.remainingBytes(), labels));
      copied.dataPoint(CounterDataPointSnapshot.builder().value(f.copiedBytes())
          .labels(labels).build());
    }
    out.metricSnapshot(remaining.build());
    out.metricSnapshot(copied.build());
  }

  // ---------------------------------------------------------------- LUNs

  private record Lun(String target, long number, LogicalUnit unit, AluaGroups alua) {
    Labels labels() {
      return Labels.of("target", target, "lun", Long.toString(number));
    }
  }

  private List<Lun> luns() {
    List<Lun> out = new ArrayList<>();
    for (ExportedTarget t : directory.targets()) {
      if (t.scsi() instanceof ScsiTargetDevice port) {
        port.luns().forEach((n, unit) -> out.add(new Lun(t.name(), n, unit, port.alua(n))));
      }
    }
    return out;
  }

  private void collectLuns(MetricSnapshots.Builder out) {
    List<Lun> luns = luns();
    Map<Lun, LunCounters> counters = new HashMap<>();
    luns.forEach(l -> counters.put(l, l.unit().counters()));
    out.metricSnapshot(counter("iscsi_lun_read_ops", "READ commands completed by the LUN.",
        luns, l -> counters.get(l).readOps()));
    out.metricSnapshot(counter("iscsi_lun_write_ops", "WRITE commands completed by the LUN.",
        luns, l -> counters.get(l).writeOps()));
    out.metricSnapshot(counter("iscsi_lun_read_bytes", "Bytes read from the LUN.",
        luns, l -> counters.get(l).readBytes()));
    out.metricSnapshot(counter("iscsi_lun_write_bytes", "Bytes written to the LUN.",
        luns, l -> counters.get(l).writeBytes()));

    HistogramSnapshot.Builder latency = HistogramSnapshot.builder()
        .name("iscsi_lun_io_latency_seconds")
        .help("Time the backing file took to serve a read or write (FUA flush included).");
    for (Lun l : luns) {
      latency.dataPoint(histogram(l.unit().readLatency().snapshot(),
          l.labels().add("op", "read")));
      latency.dataPoint(histogram(l.unit().writeLatency().snapshot(),
          l.labels().add("op", "write")));
    }
    out.metricSnapshot(latency.build());
    collectThrottling(out, luns);

    GaugeSnapshot.Builder provisioned = GaugeSnapshot.builder()
        .name("iscsi_lun_provisioned_bytes").help("Size of the LUN as initiators see it.");
    GaugeSnapshot.Builder allocated = GaugeSnapshot.builder().name("iscsi_lun_allocated_bytes")
        .help("Bytes the LUN's backing file occupies on disk (below provisioned when thin).");
    for (Lun l : luns) {
      provisioned.dataPoint(gauge(l.unit().sizeBytes(), l.labels()));
      if (l.unit().condition().isEmpty()) {
        try {
          allocated.dataPoint(gauge(l.unit().allocatedBytes(), l.labels()));
        } catch (IOException e) {
          // a backing file that vanished between the check and the call: the series is left out
          // of this scrape rather than reported as 0
          log.debug("LUN {} of {}: allocated bytes unreadable this scrape: {}",
              l.number(), l.target(), e.toString());
        }
      }
    }
    out.metricSnapshot(provisioned.build());
    out.metricSnapshot(allocated.build());
    GaugeSnapshot.Builder alua = GaugeSnapshot.builder().name("iscsi_lun_alua_state")
        .help("1 for the ALUA access state of this engine's port group of the LUN (LUNs with a "
            + "port slot only).");
    for (Lun l : luns) {
      if (l.alua() != null) {
        alua.dataPoint(gauge(1, l.labels().add("slot", Integer.toString(l.alua().slot()))
            .add("state", l.alua().own().label())));
      }
    }
    out.metricSnapshot(alua.build());
    out.metricSnapshot(GaugeSnapshot.builder().name("iscsi_targets")
        .help("Targets the engine exports.")
        .dataPoint(gauge(directory.targets().size(), Labels.EMPTY)).build());
  }

  /** What each LUN's I/O limits held back, by direction ({@code op} as for the latency). */
  private static void collectThrottling(MetricSnapshots.Builder out, List<Lun> luns) {
    CounterSnapshot.Builder seconds = CounterSnapshot.builder().name("iscsi_lun_throttled_seconds")
        .help("Time READ and WRITE commands waited for the LUN's I/O limits, summed.");
    CounterSnapshot.Builder commands = CounterSnapshot.builder()
        .name("iscsi_lun_throttled_commands")
        .help("READ and WRITE commands the LUN's I/O limits held back.");
    CounterSnapshot.Builder refused = CounterSnapshot.builder()
        .name("iscsi_lun_qos_refused_commands")
        .help("Commands answered TASK SET FULL: the LUN's I/O limits would have held them too "
            + "long.");
    String[] ops = {"read", "write"};
    for (Lun l : luns) {
      LunThrottle.Stats s = l.unit().throttle().stats();
      for (int d = 0; d < ops.length; d++) {
        Labels labels = l.labels().add("op", ops[d]);
        seconds.dataPoint(CounterDataPointSnapshot.builder().value(s.delayedNanos()[d] / 1e9)
            .labels(labels).build());
        commands.dataPoint(CounterDataPointSnapshot.builder().value(s.delayedCommands()[d])
            .labels(labels).build());
        refused.dataPoint(CounterDataPointSnapshot.builder().value(s.refusedCommands()[d])
            .labels(labels).build());
      }
    }
    out.metricSnapshot(seconds.build());
    out.metricSnapshot(commands.build());
    out.metricSnapshot(refused.build());
  }

  private static HistogramDataPointSnapshot histogram(IoLatency.Snapshot s, Labels labels) {
    double[] bounds = new double[IoLatency.BOUNDS_SECONDS.length + 1];
    System.arraycopy(IoLatency.BOUNDS_SECONDS, 0, bounds, 0, IoLatency.BOUNDS_SECONDS.length);
    bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
    return HistogramDataPointSnapshot.builder()
        .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, s.counts()))
        .sum(s.sumSeconds()).labels(labels).build();
  }

  // ---------------------------------------------------------------- sessions

  private void collectSessions(MetricSnapshots.Builder out) {
    SessionRegistry registry = sessions.get();
    List<SessionInfo> live = registry == null ? List.of() : registry.sessions();
    Map<String, Integer> active = new HashMap<>();
    for (ExportedTarget t : directory.targets()) {
      active.put(t.name(), 0);
    }
    int discovery = 0;
    for (SessionInfo s : live) {
      if (s.discovery()) {
        discovery++;
      } else {
        active.merge(s.targetName(), 1, Integer::sum);
      }
    }
    GaugeSnapshot.Builder sessionsActive = GaugeSnapshot.builder().name("iscsi_sessions_active")
        .help("Logged-in sessions: normal ones per target, discovery ones with target=\"\".");
    active.forEach((t, n) -> sessionsActive.dataPoint(gauge(n,
        Labels.of("target", t, "type", "normal"))));
    sessionsActive.dataPoint(gauge(discovery, Labels.of("target", "", "type", "discovery")));
    out.metricSnapshot(sessionsActive.build());

    CounterSnapshot.Builder logins = CounterSnapshot.builder().name("iscsi_logins")
        .help("Finished logins by result and Login Response status (RFC 7143 11.13.5).");
    Map<Integer, Long> outcomes = new java.util.TreeMap<>(
        registry == null ? Map.of() : registry.loginOutcomes());
    outcomes.putIfAbsent(0, 0L);
    outcomes.forEach((code, n) -> logins.dataPoint(CounterDataPointSnapshot.builder()
        .value(n).labels(Labels.of("result", code == 0 ? "success" : "failure",
            "reason", reason(code))).build()));
    out.metricSnapshot(logins.build());

    List<SessionInfo> normal = live.stream().filter(s -> !s.discovery()).toList();
    // No initiator name or ISID: /metrics has no authentication, and an initiator name is what
    // a grant admits. The TSIH is the engine's own handle; the admin API maps it to the initiator.
    Map<SessionInfo, Labels> labels = new HashMap<>();
    for (SessionInfo s : normal) {
      labels.put(s, Labels.of("target", s.targetName(), "tsih", Integer.toString(s.tsih())));
    }
    addSession(out, "iscsi_session_txdata_octets", "Data-In payload bytes sent.",
        normal, labels, SessionCounters::txdataOctets);
    addSession(out, "iscsi_session_rxdata_octets",
        "Immediate and Data-Out payload bytes received.", normal, labels,
        SessionCounters::rxdataOctets);
    addSession(out, "iscsi_session_scsicmd_pdus", "SCSI Command PDUs received.",
        normal, labels, SessionCounters::scsicmdPdus);
    addSession(out, "iscsi_session_dataout_pdus", "Data-Out PDUs received.",
        normal, labels, SessionCounters::dataoutPdus);
    addSession(out, "iscsi_session_r2t_pdus", "R2T PDUs sent.",
        normal, labels, SessionCounters::r2tPdus);
    addSession(out, "iscsi_session_digest_errors", "PDUs received with a bad CRC32C digest.",
        normal, labels, SessionCounters::digestErrors);
    addSession(out, "iscsi_session_timeouts",
        "NOP-In pings the initiator left unanswered (the connection was then closed).",
        normal, labels, SessionCounters::timeouts);
  }

  private static void addSession(MetricSnapshots.Builder out, String name, String help,
      List<SessionInfo> sessions, Map<SessionInfo, Labels> labels,
      ToLongFunction<SessionCounters> value) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    for (SessionInfo s : sessions) {
      b.dataPoint(CounterDataPointSnapshot.builder().value(value.applyAsLong(s.counters()))
          .labels(labels.get(s)).build());
    }
    out.metricSnapshot(b.build());
  }

  /** The reason label of a login outcome: the status name, e.g. authentication_failure. */
  static String reason(int code) {
    for (LoginStatus s : LoginStatus.values()) {
      if ((s.statusClass() << 8 | s.statusDetail()) == code) {
        return s.name().toLowerCase(java.util.Locale.ROOT);
      }
    }
    return String.format("status_%02x%02x", code >> 8, code & 0xff);
  }

  // ---------------------------------------------------------------- helpers

  private static CounterSnapshot counter(String name, String help, List<Lun> luns,
      ToLongFunction<Lun> value) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    for (Lun l : luns) {
      b.dataPoint(CounterDataPointSnapshot.builder().value(value.applyAsLong(l))
          .labels(l.labels()).build());
    }
    return b.build();
  }

  private static GaugeDataPointSnapshot gauge(double value, Labels labels) {
    return GaugeDataPointSnapshot.builder().value(value).labels(labels).build();
  }
}
