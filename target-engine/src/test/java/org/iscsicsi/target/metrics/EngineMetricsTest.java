package org.iscsicsi.target.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code /metrics} endpoint after real I/O from libiscsi (qemu-io's iscsi driver, packages
 * qemu-utils and qemu-block-extra): one 1 MiB write and one 1 MiB read move the LUN's op and byte
 * counters and latency histograms by exactly one I/O and 1 MiB each, and the session's
 * rxdata/txdata octets and SCSI Command PDUs by exactly that write and that read; a login to a
 * target that does not exist counts as a failure with reason not_found; the session shows as
 * active while it lasts and is gone after logout; provisioned and allocated bytes of a thin LUN
 * are reported.
 */
class EngineMetricsTest {

  static final String T = "iqn.2026-11.org.example:metrics";
  static final long MIB = 1 << 20;

  @TempDir
  Path dir;

  @BeforeEach
  void tools() throws Exception {
    assumeThat(Exec.available("qemu-io")).as("qemu-utils installed").isTrue();
    assumeThat(Exec.qemuIscsiDriver()).as("qemu-block-extra (qemu's iscsi driver) installed")
        .isTrue();
  }

  @Test
  void countersMoveByExactlyTheIoDone() throws Exception {
    try (TargetEngine engine = engineWithLun("ALL");
        MetricsServer server = MetricsServer.start("127.0.0.1", 0, engine.metrics())) {
      String portal = "iscsi://127.0.0.1:" + engine.iscsiAddress().port();
      Scrape before = scrape(server);
      assertThat(before.value("iscsi_lun_read_ops_total", lun())).isZero();
      assertThat(before.value("iscsi_lun_provisioned_bytes", lun())).isEqualTo(16.0 * MIB);
      assertThat(before.value("iscsi_lun_allocated_bytes", lun())).isZero(); // thin, untouched

      // a login to a target that does not exist
      var missing = Exec.run(Duration.ofSeconds(60), "qemu-io", "-f", "raw", "-c", "read 0 4k",
          portal + "/iqn.2026-11.org.example:absent/0");
      assertThat(missing.exit()).as(missing.output()).isNotZero();
      assertThat(scrape(server).value("iscsi_logins_total",
          "reason=\"not_found\"", "result=\"failure\"")).isEqualTo(1);

      // one write, a pause, one read, a pause: the pauses let us scrape between them
      Process io = new ProcessBuilder("qemu-io", "-f", "raw",
          "-c", "write -P 0xa5 0 1M", "-c", "sleep 8000",
          "-c", "read -P 0xa5 0 1M", "-c", "sleep 8000", portal + "/" + T + "/0")
          .redirectErrorStream(true).start();
      try {
        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
            .until(() -> scrape(server).value("iscsi_lun_write_ops_total", lun()) >= 1);
        Scrape afterWrite = scrape(server);
        assertThat(afterWrite.value("iscsi_lun_read_ops_total", lun()))
            .as("the read came before the scrape; machine too slow for the pause").isZero();
        assertThat(afterWrite.value("iscsi_lun_write_ops_total", lun())).isEqualTo(1);
        assertThat(afterWrite.value("iscsi_lun_write_bytes_total", lun())).isEqualTo(MIB);
        assertThat(afterWrite.value("iscsi_lun_io_latency_seconds_count", lun(),
            "op=\"write\"")).isEqualTo(1);
        assertThat(afterWrite.value("iscsi_sessions_active", "target=\"" + T + "\"",
            "type=\"normal\"")).isEqualTo(1);
        assertThat(afterWrite.value("iscsi_logins_total", "result=\"success\"")).isEqualTo(1);
        // only the write carried data to the target: immediate data plus Data-Out
        assertThat(afterWrite.value("iscsi_session_rxdata_octets_total", session()))
            .isEqualTo(MIB);
        assertThat(afterWrite.value("iscsi_lun_allocated_bytes", lun())).isBetween(1.0 * MIB,
            16.0 * MIB);

        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
            .until(() -> scrape(server).value("iscsi_session_txdata_octets_total", session())
                >= afterWrite.value("iscsi_session_txdata_octets_total", session()) + MIB);
        Scrape afterRead = scrape(server);
        assertThat(afterRead.value("iscsi_lun_read_ops_total", lun())).isEqualTo(1);
        assertThat(afterRead.value("iscsi_lun_read_bytes_total", lun())).isEqualTo(MIB);
        assertThat(afterRead.value("iscsi_lun_write_ops_total", lun())).isEqualTo(1);
        assertThat(afterRead.value("iscsi_lun_io_latency_seconds_count", lun(), "op=\"read\""))
            .isEqualTo(1);
        assertThat(afterRead.value("iscsi_lun_io_latency_seconds_sum", lun(), "op=\"read\""))
            .isPositive();
        assertThat(afterRead.value("iscsi_lun_io_latency_seconds_bucket", lun(), "op=\"read\"",
            "le=\"+Inf\"")).isEqualTo(1);
        assertThat(afterRead.value("iscsi_session_txdata_octets_total", session())
            - afterWrite.value("iscsi_session_txdata_octets_total", session())).isEqualTo(MIB);
        assertThat(afterRead.value("iscsi_session_scsicmd_pdus_total", session())
            - afterWrite.value("iscsi_session_scsicmd_pdus_total", session())).isEqualTo(1);
        assertThat(afterRead.value("iscsi_session_rxdata_octets_total", session()))
            .isEqualTo(MIB);
        assertThat(afterRead.value("iscsi_session_digest_errors_total", session())).isZero();

        assertThat(io.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(io.getInputStream().readAllBytes());
        assertThat(io.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("Pattern verification failed");
      } finally {
        io.destroyForcibly();
      }
      await().atMost(30, TimeUnit.SECONDS).until(() -> scrape(server).value(
          "iscsi_sessions_active", "target=\"" + T + "\"", "type=\"normal\"") == 0);
      Scrape end = scrape(server);
      assertThat(end.lines(("iscsi_session_rxdata_octets_total"))).isEmpty();
      assertThat(end.value("iscsi_logins_total", "result=\"success\"")).isEqualTo(1);
    }
  }

  /**
   * /metrics has no authentication, so it names no initiator: while an initiator that the ACL
   * admits by name is logged in, the only IQNs anywhere in the scrape are target names, and its
   * session is still told apart by the engine's TSIH.
   */
  @Test
  void noInitiatorNameInTheScrape() throws Exception {
    String initiator = "iqn.2026-11.org.example:node-secret-name";
    try (TargetEngine engine = engineWithLun(initiator);
        MetricsServer server = MetricsServer.start("127.0.0.1", 0, engine.metrics())) {
      var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      Process io = new ProcessBuilder("qemu-io", "--image-opts", "-c", "write 0 64k",
          "-c", "sleep 8000", "driver=iscsi,transport=tcp,portal=127.0.0.1:"
              + engine.iscsiAddress().port() + ",target=" + T + ",lun=0,initiator-name="
              + initiator)
          .redirectErrorStream(true).start();
      try {
        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
            .until(() -> scrape(server).value("iscsi_lun_write_ops_total", lun()) >= 1);
        assertThat(admin.listSessions(ListSessionsRequest.getDefaultInstance())
            .getSessionsList()).extracting(s -> s.getInitiator()).containsExactly(initiator);
        Scrape during = scrape(server);
        assertThat(during.value("iscsi_sessions_active", session(), "type=\"normal\""))
            .isEqualTo(1);
        assertThat(during.value("iscsi_session_scsicmd_pdus_total", session())).isPositive();
        assertThat(during.text()).doesNotContain(initiator).doesNotContain("node-secret-name")
            .doesNotContain("initiator=").doesNotContain("isid=");
        var iqns = java.util.regex.Pattern.compile("iqn\\.[^\"\\s,}]*").matcher(during.text())
            .results().map(java.util.regex.MatchResult::group).distinct().toList();
        assertThat(iqns).containsExactly(T);
      } finally {
        io.destroyForcibly();
      }
    }
  }

  /** A LUN with a port slot shows the state of this engine's port group; one without, none. */
  @Test
  void aluaStateOfLunsWithAPortSlot() throws Exception {
    try (TargetEngine engine = engineWithLun("ALL");
        MetricsServer server = MetricsServer.start("127.0.0.1", 0, engine.metrics())) {
      var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(1)
          .setSizeBytes(MIB).setPortSlot(2).build());
      admin.setAluaStates(org.iscsicsi.target.v1.SetAluaStatesRequest.newBuilder().setTarget(T)
          .setLun(1).putStates(1, org.iscsicsi.target.v1.AluaState.ALUA_ACTIVE_OPTIMIZED)
          .putStates(2, org.iscsicsi.target.v1.AluaState.ALUA_STANDBY).build());
      String text = scrape(server).text();
      assertThat(text).contains("iscsi_lun_alua_state{lun=\"1\",slot=\"2\",state=\"standby\","
          + "target=\"" + T + "\"} 1");
      assertThat(text.lines().filter(l -> l.startsWith("iscsi_lun_alua_state{"))).hasSize(1);
    }
  }

  /** An engine on 127.0.0.1 exporting T with a 16 MiB thin LUN 0, granted to {@code initiator}. */
  TargetEngine engineWithLun(String initiator) throws java.io.IOException {
    TargetEngine engine = TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0)));
    try {
      var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(16 * MIB).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T)
          .setInitiator(initiator).build());
      return engine;
    } catch (RuntimeException e) {
      engine.close();
      throw e;
    }
  }

  static String lun() {
    return "lun=\"0\"";
  }

  static String session() {
    return "target=\"" + T + "\"";
  }

  static Scrape scrape(MetricsServer server) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      return new Scrape(r.body());
    }
  }

  /** One scrape in the Prometheus text format. */
  record Scrape(String text) {

    List<String> lines(String name) {
      List<String> out = new ArrayList<>();
      for (String line : text.split("\n")) {
        if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
          out.add(line);
        }
      }
      return out;
    }

    /** The value of the one sample of {@code name} whose labels contain every fragment. */
    double value(String name, String... labelFragments) {
      List<String> hits = new ArrayList<>();
      for (String line : lines(name)) {
        String labels = line.substring(name.length(), line.lastIndexOf(' '));
        boolean all = true;
        for (String f : labelFragments) {
          all &= labels.contains(f);
        }
        if (all) {
          hits.add(line);
        }
      }
      assertThat(hits).as(name + " " + List.of(labelFragments) + " in\n" + text).hasSize(1);
      String line = hits.getFirst();
      return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
  }
}
