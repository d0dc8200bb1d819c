package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The guest script of the VM tier names the node it was asked for and nothing else reaches the
 * shell: a node name that is not a Kubernetes node name (a shell word, a quote) is refused before
 * a VM boots.
 */
class NodePluginGuestTest {

  @Test
  void scriptServesAsTheNamedNode() {
    String script = NodePluginGuest.script("vm-node-1");
    assertThat(script).contains("--node-name vm-node-1 \\\n")
        .contains("--endpoint tcp://0.0.0.0:" + NodePluginGuest.CSI_PORT)
        .contains("while [ ! -e /ctl/stop ]");
  }

  @Test
  void extraOptionsReachThePluginAndShellSyntaxIsRefused() {
    assertThat(NodePluginGuest.script("n1", "--kubelet-dir=/tmp/x", "--iscsiadm=/ctl/rec"))
        .contains("--login-timeout 10s --kubelet-dir=/tmp/x --iscsiadm=/ctl/rec &");
    for (String bad : new String[] {"--x=a b", "--x=$(reboot)", "-x", "--x=a;b", "--x='1'"}) {
      assertThatThrownBy(() -> NodePluginGuest.script("n1", bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void namesThatAreNotNodeNamesAreRefused() {
    for (String bad : new String[] {"", "Node", "a;reboot", "a b", "n'1", "-x", "x-"}) {
      assertThatThrownBy(() -> NodePluginGuest.script(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
