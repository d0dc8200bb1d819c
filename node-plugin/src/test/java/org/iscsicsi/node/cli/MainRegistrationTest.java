package org.iscsicsi.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Pins that {@code serve --kubelet-registration-dir} refuses, as a usage error (exit 2) before
 * anything listens, a TCP endpoint without {@code --kubelet-registration-path} (kubelet reaches a
 * CSI plugin only through a unix socket) and a relative registration path.
 */
class MainRegistrationTest {
  @TempDir Path dir;

  @Test
  void aTcpEndpointNeedsTheSocketPathKubeletSees() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("serve", "--endpoint", "tcp://127.0.0.1:0", "--node-name", "node-a",
        "--kubelet-registration-dir", dir.toString());
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("kubelet needs a unix:// --endpoint");
    assertThat(dir.toFile().list()).isEmpty();
  }

  @Test
  void aRelativeRegistrationPathIsAUsageError() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("serve", "--endpoint", "tcp://127.0.0.1:0", "--node-name", "node-a",
        "--kubelet-registration-dir", dir.toString(), "--kubelet-registration-path", "csi.sock");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("absolute");
    assertThat(dir.toFile().list()).isEmpty();
  }
}
