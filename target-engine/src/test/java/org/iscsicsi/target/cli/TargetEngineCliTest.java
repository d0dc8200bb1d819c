package org.iscsicsi.target.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.iscsicsi.target.admin.AdminCallLog;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Pins the CLI against a real engine whose admin API listens on localhost TCP (port 0) or a unix
 * socket: each command's effect and output, exit codes (0 ok, 1 refused by the engine or
 * unreachable, 2 bad usage), one-line error messages, and that secrets given by flag, file or
 * environment variable never appear in any output.
 */
class TargetEngineCliTest {

  static final String T = "iqn.2026-11.org.example:cli";
  static final String SECRET = "file-secret-0123456";

  @TempDir
  Path dir;

  TargetEngine engine;
  String admin;

  record Run(int exit, String out, String err) {
  }

  @BeforeEach
  void start() throws Exception {
    engine = TargetEngine.start(EngineConfig.of(dir.resolve("state")).withIscsi(false)
        .withAdmin(AdminAddress.tcp("127.0.0.1", 0)));
    admin = "127.0.0.1:" + engine.adminTcpAddress().getPort();
  }

  @AfterEach
  void stop() {
    engine.close();
  }

  static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = TargetEngineCli.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  Run client(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--admin";
    all[args.length + 1] = admin;
    return cli(all);
  }

  static void oneLineError(Run r, int exit, String message) {
    assertThat(r.exit()).as(r.toString()).isEqualTo(exit);
    assertThat(r.err()).startsWith("target-engine: ").contains(message);
    assertThat(r.err().strip().lines()).hasSize(1);
  }

  @Test
  void fullAdministrationFlow() throws Exception {
    assertThat(client("target", "create", T, "--alias", "demo", "--label", "pv=x").out())
        .isEqualTo(T + "\n");
    Run lun = client("lun", "create", T, "--lun", "0", "--size", "64M");
    assertThat(lun.exit()).isZero();
    assertThat(lun.out()).contains("LUN 0 of " + T + ": 64 MiB, 512-byte blocks, thin");
    assertThat(client("lun", "create", T, "--lun", "1", "--size", "8M", "--thick",
        "--block-size", "4096", "--read-only").out()).contains("8 MiB, 4096-byte blocks, thick, "
        + "read-only");
    assertThat(client("acl", "add", T, "ALL", "--read-only").out())
        .contains("granted ALL read-only");
    assertThat(client("acl", "add", T, "iqn.1993-08.org.debian:01:abc").exit()).isZero();
    Path pw = dir.resolve("pw");
    Files.writeString(pw, SECRET + "\n");
    Path mpw = dir.resolve("mpw");
    Files.writeString(mpw, "mutual-secret-98765");
    Run chap = client("chap", "set", T, "--user", "alice", "--password-file", pw.toString(),
        "--mutual-user", "tgt", "--mutual-password-file", mpw.toString());
    assertThat(chap.exit()).as(chap.toString()).isZero();
    assertThat(engine.registry().target(T).orElseThrow().incomingChap().orElseThrow().secret())
        .isEqualTo(SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(client("lun", "resize", T, "--lun", "0", "--size", "128M").out())
        .contains("128 MiB");
    assertThat(client("snapshot", "create", "snap1", T + "/0").out()).startsWith("snap1  " + T);
    assertThat(client("snapshot", "ls").out()).contains("snap1");
    assertThat(client("lun", "create", T, "--lun", "2", "--size", "128M", "--from-snapshot",
        "snap1").exit()).isZero();
    assertThat(client("lun", "create", T, "--lun", "3", "--size", "128M", "--clone-of",
        T + "/0").exit()).isZero();

    Run ls = client("ls");
    assertThat(ls.out()).contains(T + " (demo)  tpgt 1, 0 session(s)")
        .contains("  lun 0: 128 MiB").contains("  lun 1: 8 MiB, 4096-byte blocks, thick")
        .contains("acl: ALL (ro), iqn.1993-08.org.debian:01:abc (rw)")
        .contains("chap: user alice, mutual user tgt")
        .contains("labels: {pv=x}")
        .doesNotContain(SECRET).doesNotContain("mutual-secret");
    assertThat(chap.out() + chap.err()).doesNotContain(SECRET);
    assertThat(client("sessions").out()).isEqualTo("no sessions\n");
    assertThat(client("info").out()).contains("1 target(s), 0 session(s)").contains("pool: ")
        .contains("backend fileio (fileio): ")
        .containsPattern("engine local \\(incarnation [0-9a-f]{32}\\)");

    assertThat(client("snapshot", "delete", "snap1").exit()).isZero();
    assertThat(client("chap", "clear", T).exit()).isZero();
    assertThat(client("acl", "remove", T, "ALL").exit()).isZero();
    assertThat(client("lun", "delete", T, "--lun", "3").exit()).isZero();
    assertThat(client("target", "delete", T).out()).isEqualTo("deleted " + T + "\n");
    assertThat(client("ls").out()).isEqualTo("no targets\n");
  }

  /**
   * ALUA through the CLI: {@code target create --portal-group-tag}, {@code lun create --port-slot}
   * (active/optimized at first), {@code lun alua SLOT=STATE...} live on the SCSI port, kept across
   * an engine restart; refusals (no slot, own slot missing, unknown state) are one line.
   */
  @Test
  void aluaStatesSetShownAndKeptAcrossRestart() throws Exception {
    assertThat(client("target", "create", T, "--portal-group-tag", "2").exit()).isZero();
    assertThat(engine.registry().getTarget(T).portalGroupTag()).isEqualTo(2);
    assertThat(client("lun", "create", T, "--lun", "0", "--size", "8M", "--port-slot", "2").out())
        .contains("port slot 2, ALUA 2=active-optimized");
    assertThat(client("lun", "alua", T, "--lun", "0", "1=active-optimized", "2=standby").out())
        .contains("port slot 2, ALUA 1=active-optimized 2=standby");
    assertThat(client("ls").out()).contains(T + "  tpgt 2")
        .contains("port slot 2, ALUA 1=active-optimized 2=standby");
    org.iscsicsi.target.scsi.ScsiTargetDevice port = (org.iscsicsi.target.scsi.ScsiTargetDevice)
        engine.registry().target(T).orElseThrow().scsi();
    assertThat(port.alua(0).own()).isEqualTo(org.iscsicsi.target.scsi.AccessState.STANDBY);
    oneLineError(client("lun", "alua", T, "--lun", "0", "1=standby"), 1,
        "must include this port's slot 2");
    oneLineError(client("lun", "alua", T, "--lun", "0", "2=offline"), 2, "unknown ALUA state");
    oneLineError(client("lun", "alua", T, "--lun", "0", "two=standby"), 2, "not a number");
    assertThat(client("lun", "create", T, "--lun", "1", "--size", "8M").exit()).isZero();
    oneLineError(client("lun", "alua", T, "--lun", "1", "2=standby"), 1, "has no ALUA port slot");
    var first = engine.registry().getTarget(T).lun(0).orElseThrow();
    assertThat(client("target", "create", "iqn.2026-11.org.example:other").exit()).isZero();
    oneLineError(client("lun", "create", "iqn.2026-11.org.example:other", "--lun", "0", "--size",
        "8M", "--naa", first.naa(), "--serial", first.serial()), 1, "already has NAA");
    assertThat(client("lun", "create", "iqn.2026-11.org.example:other", "--lun", "0", "--size",
        "8M", "--naa", "6" + "0".repeat(30) + "7", "--serial", "SHARED1").out())
        .contains("serial SHARED1, naa 6" + "0".repeat(30) + "7");
    oneLineError(client("lun", "create", "iqn.2026-11.org.example:other", "--lun", "2", "--size",
        "8M", "--naa", "6" + "0".repeat(31)), 2, "--serial");
    oneLineError(client("lun", "create", T, "--lun", "0", "--size", "8M", "--port-slot", "3"), 1,
        "different definition");
    oneLineError(client("target", "create", T, "--portal-group-tag", "3"), 1,
        "portal group tag");
    oneLineError(client("target", "create", "iqn.2026-11.org.example:big",
        "--portal-group-tag", "70000"), 1, "outside 1..65535");
    engine.close();
    start();
    assertThat(client("target", "create", T, "--portal-group-tag", "2").exit())
        .as("idempotent after the restart").isZero();
    org.iscsicsi.target.scsi.ScsiTargetDevice again = (org.iscsicsi.target.scsi.ScsiTargetDevice)
        engine.registry().target(T).orElseThrow().scsi();
    assertThat(again.alua(0).states()).as("states kept by the restart").containsExactly(
        java.util.Map.entry(1, org.iscsicsi.target.scsi.AccessState.ACTIVE_OPTIMIZED),
        java.util.Map.entry(2, org.iscsicsi.target.scsi.AccessState.STANDBY));
    assertThat(again.alua(1)).as("a LUN without slot stays without").isNull();
  }

  /**
   * {@code lun create} takes I/O limits, {@code lun qos} replaces them live (figures left out: no
   * limit) and both print them; an out-of-range figure is a one-line refusal.
   */
  @Test
  void lunQosSetsAndShowsLimits() {
    client("target", "create", T);
    assertThat(client("lun", "create", T, "--lun", "0", "--size", "8M", "--read-iops", "500",
        "--write-bps", "10M", "--burst-ms", "250").out())
        .contains("read 500 IOPS, write 10 MiB/s, burst 250 ms");
    assertThat(engine.registry().getTarget(T).lun(0).orElseThrow().qosLimits())
        .isEqualTo(new QosLimits(500, 0, 0, 10 << 20, 250));
    assertThat(client("lun", "qos", T, "--lun", "0", "--write-iops", "100").out())
        .contains("write 100 IOPS, burst 0 ms");
    assertThat(client("lun", "qos", T, "--lun", "0").out()).contains("no I/O limits");
    oneLineError(client("lun", "qos", T, "--lun", "0", "--read-bps", "1K"), 1,
        "read bytes per second must be 0 (no limit) or 65536");
  }

  @Test
  void refusalsAreOneLineWithExitOne() {
    oneLineError(client("lun", "create", T, "--lun", "0", "--size", "1M"), 1,
        "target " + T + " does not exist (not found)");
    oneLineError(client("target", "create", "bogus"), 1, "invalid iSCSI name 'bogus'");
    client("target", "create", T);
    oneLineError(client("lun", "create", T, "--lun", "0", "--size", "1000"), 1,
        "not a multiple of the block size 512 (invalid argument)");
    oneLineError(client("lun", "resize", T, "--lun", "9", "--size", "1M"), 1,
        "LUN 9 of " + T + " does not exist");
    oneLineError(cli("ls", "--admin", "127.0.0.1:1"), 1, "cannot reach the engine's admin API "
        + "at 127.0.0.1:1");
  }

  /** The replication commands reach the TargetReplication service and say why they refuse. */
  @Test
  void replicationCommandsRefuseWithoutKubernetes() {
    client("target", "create", T);
    client("lun", "create", T, "--lun", "0", "--size", "1M");
    oneLineError(client("replication", "status", "--target", T, "--lun", "0"), 1,
        "LUN 0 of " + T + " is not replicated (not found)");
    oneLineError(client("replication", "set", "--target", T, "--lun", "0", "--volume",
        "pool.vol", "--member", "node-b=127.0.0.1:3263"), 1,
        "run the engine with --kubernetes (failed precondition)");
    oneLineError(client("replication", "set", "--target", T, "--volume", "Bad_Name"), 1,
        "volume Bad_Name is not an object name (invalid argument)");
  }

  @Test
  void usageErrorsExitTwo() {
    oneLineError(cli("lun", "create", T), 2, "Missing required options");
    oneLineError(cli("frobnicate"), 2, "Unmatched argument");
    oneLineError(client("lun", "create", T, "--lun", "0", "--size", "10X"), 2,
        "size '10X' is not a whole number");
    oneLineError(cli("ls", "--admin", "unix:relative"), 2, "absolute path");
    oneLineError(client("chap", "set", T, "--user", "u"), 2, "Missing required");
    oneLineError(client("chap", "set", T, "--user", "u", "--password", "a", "--password-file",
        "/x"), 2, "mutually exclusive");
  }

  @Test
  void secretsNeverPrintedEvenInErrors() {
    client("target", "create", T);
    String weak = "weak-pw";
    Run r = client("chap", "set", T, "--user", "alice", "--password", weak);
    oneLineError(r, 1, "12 to 255 bytes");
    assertThat(r.out() + r.err()).doesNotContain(weak);
    // HOME is too short to be a secret: refused without echoing it
    String home = System.getenv("HOME");
    Run env = client("chap", "set", T, "--user", "alice", "--password-env", "HOME");
    if (home != null && home.length() < 12) {
      oneLineError(env, 1, "12 to 255 bytes");
      assertThat(env.out() + env.err()).doesNotContain("secret=");
    }
    oneLineError(client("chap", "set", T, "--user", "alice", "--password-env", "NO_SUCH_VAR_X"),
        2, "NO_SUCH_VAR_X is not set");
    oneLineError(client("chap", "set", T, "--user", "alice", "--password-file",
        dir.resolve("missing").toString()), 2, "cannot read");
  }

  @Test
  void inameAndVersion() {
    Run r = cli("iname", "--prefix", "iqn.2020-01.com.example");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).matches("iqn\\.2020-01\\.com\\.example:[0-9a-f]{12}\\n");
    oneLineError(cli("iname", "--prefix", "nope"), 2, "invalid iSCSI name 'nope'");
    assertThat(cli("--version").out()).startsWith("target-engine ");
  }

  @Test
  void unixSocketAdmin() throws Exception {
    Path sock = dir.resolve("run/admin.sock");
    try (TargetEngine e = TargetEngine.start(EngineConfig.of(dir.resolve("state2"))
        .withIscsi(false).withAdmin(AdminAddress.unix(sock)))) {
      assertThat(sock).exists();
      Run r = cli("target", "create", T, "--admin", "unix:" + sock);
      assertThat(r.exit()).as(r.toString()).isZero();
      assertThat(e.registry().target(T)).isPresent();
    }
    assertThat(sock).doesNotExist();
  }

  /**
   * The CLI speaks mutual TLS to a TCP admin address (the engine logs the caller's certificate
   * subject), and refuses plain TCP off loopback.
   */
  @Test
  void mutualTlsAdmin() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(TestPki.available(), "openssl installed");
    TestPki engines = TestPki.create(dir, "engines");
    TestPki clients = TestPki.create(dir, "clients");
    TestPki.Identity server = engines.issue("engine");
    TestPki.Identity operator = clients.issue("operator");
    try (TargetEngine e = TargetEngine.start(EngineConfig.of(dir.resolve("tls")).withIscsi(false)
        .withAdmin(new AdminListener(AdminAddress.tcp("127.0.0.1", 0),
            TestPki.tls(server, clients), false).withClientCns(Set.of("operator"))))) {
      String addr = "127.0.0.1:" + e.adminTcpAddress().getPort();
      Run ok = cli("target", "create", T, "--admin", addr,
          "--admin-tls-cert", operator.certificate().toString(),
          "--admin-tls-key", operator.key().toString(),
          "--admin-tls-ca", engines.caCertificate().toString());
      assertThat(ok.exit()).as(ok.toString()).isZero();
      assertThat(e.registry().target(T)).isPresent();
      Logger callLog = (Logger) LoggerFactory.getLogger(AdminCallLog.class);
      ListAppender<ILoggingEvent> calls = new ListAppender<>();
      calls.start();
      callLog.addAppender(calls);
      try {
        oneLineError(cli("target", "create", "bogus", "--admin", addr, "--admin-tls-cert",
            operator.certificate().toString(), "--admin-tls-key", operator.key().toString(),
            "--admin-tls-ca", engines.caCertificate().toString()), 1, "invalid iSCSI name");
      } finally {
        callLog.detachAppender(calls);
      }
      assertThat(calls.list).extracting(ILoggingEvent::getFormattedMessage)
          .anyMatch(m -> m.startsWith("admin CreateTarget by CN=operator INVALID_ARGUMENT"));
      oneLineError(cli("ls", "--admin", addr), 1, "cannot reach the engine's admin API");
      oneLineError(cli("ls", "--admin", addr, "--admin-tls-cert",
          operator.certificate().toString()), 2, "TLS needs all of");
    }
    oneLineError(cli("ls", "--admin", "192.0.2.1:3262"), 2, "is not loopback");
  }

  /**
   * serve checks its naming and Kubernetes flags before anything starts: a reserved or invalid
   * name, --kubernetes without a node or a namespace; and refuses a state directory of another
   * engine without --rename.
   */
  @Test
  void serveChecksNamingAndKubernetesFlags() throws Exception {
    String state = dir.resolve("serve-state").toString();
    oneLineError(cli("serve", "--state-dir", state, "--name", "pool"), 2, "not 'pool'");
    oneLineError(cli("serve", "--state-dir", state, "--name", "Node_1"), 2,
        "engine name 'Node_1' is not valid");
    oneLineError(cli("serve", "--state-dir", state, "--kubernetes", "--node="), 2,
        "--kubernetes needs the node's name: --node or $NODE_NAME");
    oneLineError(cli("serve", "--state-dir", state, "--kubernetes", "--node", "node-a",
        "--namespace="), 2, "--namespace or $POD_NAMESPACE");
    Path named = dir.resolve("named");
    TargetEngine.start(EngineConfig.of(named).withIscsi(false)
        .withNaming(new EngineNaming("node-a", null, false))).close();
    oneLineError(cli("serve", "--state-dir", named.toString(), "--node", "node-b", "--no-iscsi",
        "--admin", "none"), 1, "belongs to engine 'node-a' (engine.json), not 'node-b'");
  }
}
