package org.iscsicsi.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Pins that {@code serve --topology-keys} refuses a list that holds a key Kubernetes would not
 * accept as a label key, with exit code 2 and a message naming the key, before anything starts.
 */
class MainTopologyKeysTest {

  @Test
  void aBadKeyIsAUsageError() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("serve", "--endpoint", "tcp://127.0.0.1:0", "--node-name", "node-a",
        "--topology-keys", "topology.kubernetes.io/zone,Bad Key");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--topology-keys: label key 'Bad Key'");
  }
}
