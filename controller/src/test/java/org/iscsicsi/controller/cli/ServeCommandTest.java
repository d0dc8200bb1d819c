package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code controller serve} refuses bad command lines with exit code 2 and a message naming the
 * option or value, before it starts anything: among them pool limits, plain TCP to a remote engine
 * off loopback, half of the remote-engine TLS files, and a TCP admin address for the embedded
 * engine.
 */
class ServeCommandTest {

  private static String[] run(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new ControllerCli());
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), err.toString()};
  }

  @Test
  void badOptionsAreUsageErrors() {
    String[] r = run("serve", "--endpoint", "http://x", "--state-dir", "/nonexistent/never");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("unix:///path/to.sock or tcp://HOST:PORT");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--state-dir").contains("--engine").contains("--pool");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--engine", "Bad_Name=tcp://h:1");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("Bad_Name");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--engine", "far=tcp://192.0.2.1:3262");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--engine far").contains("is not loopback")
        .contains("--engine-tls-cert");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--engine", "far=tcp://192.0.2.1:3262",
        "--engine-tls-cert", "/tmp/c.pem");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("TLS needs all of --engine-tls-cert");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--state-dir", "/tmp/x",
        "--admin", "0.0.0.0:3262");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--admin 0.0.0.0:3262").contains("unix socket or none");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--state-dir", "/tmp/x",
        "--driver-name", "-bad-");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("driver name");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--state-dir", "/tmp/x",
        "--overcommit-ratio", "-1");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("overcommit ratio -1.0");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--state-dir", "/tmp/x",
        "--max-volume-size", "10GB");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("\"10GB\" is not a byte count");
  }

  /**
   * {@code --pool} runs no embedded engine and takes no static engines, needs the controller's
   * TLS files (readable, key not open to others) and the release namespace; {@code --namespace}
   * without {@code --pool} is refused.
   */
  @Test
  void poolModeCombinations(@TempDir Path dir) throws Exception {
    String[] r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--pool",
        "--state-dir", "/tmp/x");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--state-dir configures the embedded engine, which --pool does "
        + "not run");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--pool", "--portal", "0.0.0.0:3260");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--portal configures the embedded engine");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--pool",
        "--engine", "far=tcp://192.0.2.1:3262");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--engine with --pool");

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--pool");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--pool reaches engines over mutual TLS only")
        .contains("--engine-tls-cert");

    Path cert = Files.writeString(dir.resolve("c.pem"), "not a certificate");
    Path key = Files.writeString(dir.resolve("k.pem"), "not a key");
    Path ca = Files.writeString(dir.resolve("ca.pem"), "not a CA");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    String[] tls = {"--engine-tls-cert", cert.toString(), "--engine-tls-key", key.toString(),
        "--engine-tls-ca", ca.toString()};
    r = run(concat(new String[] {"serve", "--endpoint", "unix:///tmp/x.sock", "--pool",
        "--namespace", "storage"}, tls));
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("is accessible to other users");

    if (System.getenv("POD_NAMESPACE") == null) {
      Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
      r = run(concat(new String[] {"serve", "--endpoint", "unix:///tmp/x.sock", "--pool"}, tls));
      assertThat(r[0]).isEqualTo("2");
      assertThat(r[1]).contains("--pool needs the release namespace");
    }

    r = run("serve", "--endpoint", "unix:///tmp/x.sock", "--state-dir", "/tmp/x",
        "--namespace", "storage");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--namespace is for --pool");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void helpAndVersionWork() {
    assertThat(run("--version")[0]).isEqualTo("0");
    assertThat(run("serve", "--help")[0]).isEqualTo("0");
  }
}
