package org.iscsicsi.controller.cli.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.cli.ControllerCli;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.testing.Exec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code controller volume} against a real controller (embedded engine, CSI server on a unix
 * socket): names resolve to ids, create/ls/publish/unpublish/snapshot/delete do what they say;
 * publish prints credentials the target then requires and admits (libiscsi logs in with the
 * mutual pair from the 0600 env file), with the {@code _in} pair for mutual CHAP and none
 * for a volume without CHAP) and refuses a repeat it could not print credentials for; failures are
 * one line with the gRPC code and exit 1, bad arguments exit 2, and neither prints a stack trace.
 */
class VolumeCommandTest {

  private static final String NODE = "iqn.2026-11.org.example:cli";

  @TempDir Path dir;
  private EngineSet engines;
  private CsiServer server;
  private String endpoint;

  @BeforeEach
  void start() throws Exception {
    engines = new EngineSet();
    EmbeddedEngine.start(engines, "local", dir.resolve("state"), new HostPort("127.0.0.1", 0),
        List.of(), Map.of(), Duration.ofSeconds(30));
    ControllerConfig config = ControllerConfig.defaults();
    Path socket = dir.resolve("csi.sock");
    server = CsiServer.start(new Endpoint.Unix(socket), List.of(
        new IdentityService(new DriverInfo(config.driverName(), "test"), engines),
        new ControllerService(engines, config)));
    endpoint = "unix://" + socket;
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    engines.close();
  }

  private record Result(int exit, String out, String err) {
  }

  private Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--endpoint";
    all[args.length + 1] = endpoint;
    int code = ControllerCli.run(all, new PrintWriter(out), new PrintWriter(err));
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void lifecycleByName() {
    Result create = cli("volume", "create", "demo", "--size", "64MiB", "--fs", "xfs");
    assertThat(create.exit()).as(create.err()).isZero();
    assertThat(create.out().strip()).isEqualTo("local.demo");

    Result publish = cli("volume", "publish", "demo", "--node", NODE);
    assertThat(publish.exit()).as(publish.err()).isZero();
    assertThat(publish.out())
        .contains("iscsiadm -m discoverydb -t sendtargets -p 127.0.0.1:")
        .contains("-o update -n discovery.sendtargets.auth.username -v local.demo")
        .contains("-o update -n node.session.auth.authmethod -v CHAP")
        .contains("--login")
        .containsPattern("/dev/disk/by-path/ip-127\\.0\\.0\\.1:\\d+-iscsi-"
            + "iqn\\.2026-11\\.org\\.iscsicsi:local\\.demo-lun-0")
        .containsPattern("iscsi://local\\.demo%[A-Za-z0-9]{16}@127\\.0\\.0\\.1:\\d+/"
            + "iqn\\.2026-11\\.org\\.iscsicsi:local\\.demo/0")
        .doesNotContain("username_in");

    Result ls = cli("volume", "ls");
    assertThat(ls.exit()).as(ls.err()).isZero();
    assertThat(ls.out()).containsPattern("local\\.demo +64 MiB +healthy +" + NODE);

    Result again = cli("volume", "publish", "local.demo", "--node", NODE);
    assertThat(again.exit()).isEqualTo(1);
    assertThat(again.err()).startsWith("controller volume publish: FAILED_PRECONDITION: ")
        .contains("already published").hasLineCount(1);

    Result delete = cli("volume", "delete", "demo");
    assertThat(delete.exit()).as(delete.err()).isZero(); // a grant without a session: no block
    Result gone = cli("volume", "unpublish", "demo", "--node", NODE);
    assertThat(gone.exit()).isEqualTo(1);
    assertThat(gone.err()).isEqualTo("controller volume unpublish: NOT_FOUND: no volume named "
        + "demo (controller volume ls lists them)\n");
  }

  @Test
  void snapshotAndUnpublish() {
    assertThat(cli("volume", "create", "src", "--size", "16MiB", "--block").exit()).isZero();
    assertThat(cli("volume", "publish", "src", "--node", NODE).exit()).isZero();
    Result snap = cli("volume", "snapshot", "src", "snap-1");
    assertThat(snap.exit()).as(snap.err()).isZero();
    assertThat(snap.out().strip()).isEqualTo("local.snap-1");
    Result unpublish = cli("volume", "unpublish", "src", "--node", NODE);
    assertThat(unpublish.out()).isEqualTo("unpublished local.src from " + NODE + "\n");
    assertThat(cli("volume", "ls").out()).containsPattern("local\\.src +16 MiB +healthy +-");
    assertThat(cli("volume", "delete", "src").out()).isEqualTo("deleted local.src\n");
  }

  @Test
  void mutualAndNoChapPrintouts() throws Exception {
    assertThat(cli("volume", "create", "mutual", "--mutual-chap").exit()).isZero();
    Path env = dir.resolve("mutual.env");
    Result mutual = cli("volume", "publish", "mutual", "--node", NODE, "--read-only",
        "--env-file", env.toString());
    assertThat(mutual.out()).contains("(read-only)")
        .contains("-n node.session.auth.username_in -v local.mutual.target")
        .containsPattern("-n node\\.session\\.auth\\.password_in -v [A-Za-z0-9]{16}")
        .contains("export LIBISCSI_CHAP_TARGET_USERNAME='local.mutual.target'")
        .contains("?target_user=local.mutual.target&target_password=");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(env)))
        .isEqualTo("rw-------");
    assumeThat(Exec.available("iscsi-inq")).as("libiscsi-bin").isTrue();
    assertThat(loginWith(env).exit()).as("iscsi-inq with the printed mutual credentials")
        .isZero();

    assertThat(cli("volume", "create", "open", "--no-chap").exit()).isZero();
    Result open = cli("volume", "publish", "open", "--node", NODE);
    assertThat(open.exit()).as(open.err()).isZero();
    assertThat(open.out()).contains("No CHAP")
        .containsPattern("iscsiadm -m node -T iqn\\.2026-11\\.org\\.iscsicsi:local\\.open "
            + "-p 127\\.0\\.0\\.1:\\d+ -o new")
        .doesNotContain("discoverydb").doesNotContain("password").doesNotContain("%");
  }

  /** iscsi-inq on the LUN with the environment the env file sets (the printed credentials). */
  private static Exec.Result loginWith(Path envFile) throws Exception {
    ProcessBuilder pb = new ProcessBuilder();
    String url = null;
    for (String line : Files.readAllLines(envFile)) {
      String kv = line.substring("export ".length());
      String key = kv.substring(0, kv.indexOf('='));
      String value = kv.substring(kv.indexOf('=') + 2, kv.length() - 1); // '...'
      pb.environment().put(key, value);
      url = key.equals("ISCSI_URL") ? value : url;
    }
    return Exec.run(Duration.ofSeconds(30), pb.command("iscsi-inq", "-i", NODE, url));
  }

  @Test
  void badInputIsOneLineWithExitTwo() {
    Result size = cli("volume", "create", "x", "--size", "1Q");
    assertThat(size.exit()).isEqualTo(2);
    assertThat(size.err()).startsWith("controller volume create: --size: ").hasLineCount(1);
    Result fs = cli("volume", "create", "x", "--fs", "btrfs");
    assertThat(fs.exit()).isEqualTo(2);
    assertThat(fs.err()).contains("--fs btrfs").hasLineCount(1);
    Result both = cli("volume", "create", "x", "--block", "--fs", "xfs");
    assertThat(both.exit()).isEqualTo(2);
    Result noNode = cli("volume", "publish", "x");
    assertThat(noNode.exit()).isEqualTo(2);
    assertThat(cli("volume", "ls").out()).doesNotContain("local.x");
  }

  @Test
  void unreachableControllerIsOneLine() {
    StringWriter err = new StringWriter();
    int code = ControllerCli.run(new String[] {"volume", "ls", "--endpoint",
        "unix://" + dir.resolve("nobody.sock")}, new PrintWriter(new StringWriter()),
        new PrintWriter(err));
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).startsWith("controller volume ls: UNAVAILABLE: ")
        .contains("is controller serve running on unix://").hasLineCount(1)
        .doesNotContain("Exception");
  }

  @Test
  void namesMatchTheirIds() {
    assertThat(Volumes.matches("local.demo", "demo")).isTrue();
    assertThat(Volumes.matches("local.demo", "local.demo")).isTrue();
    assertThat(Volumes.matches("local.demo", "demo2")).isFalse();
    String longName = "Not_A-DNS.label";
    String hashed = org.iscsicsi.controller.volume.VolumeId.forName("far", longName).toString();
    assertThat(hashed).startsWith("far.h-");
    assertThat(Volumes.matches(hashed, longName)).isTrue();
    assertThat(Volumes.matches("not-an-id", "demo")).isFalse();
    assertThat(CreateCommand.bytes("1GiB")).isEqualTo(1L << 30);
    assertThat(CreateCommand.bytes("512Mi")).isEqualTo(512L << 20);
  }
}
