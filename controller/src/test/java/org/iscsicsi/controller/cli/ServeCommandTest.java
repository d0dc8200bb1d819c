package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
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
    assertThat(r[1]).contains("--state-dir").contains("--engine");

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

  @Test
  void helpAndVersionWork() {
    assertThat(run("--version")[0]).isEqualTo("0");
    assertThat(run("serve", "--help")[0]).isEqualTo("0");
  }
}
