package org.iscsicsi.controller.cli.volume;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.junit.jupiter.api.Test;

/**
 * The login printout's forms: open-iscsi's discovery and node-record settings in order, the
 * by-path disk and libiscsi's URL for an IPv6 portal, and shell exports that quote every value
 * (an IPv6 portal's brackets) so {@code . FILE} reads them unchanged.
 */
class LoginInstructionsTest {

  private static final String NODE = "iqn.2026-11.org.example:host";
  private static final String IQN = "iqn.2026-11.org.iscsicsi:local.v";

  @Test
  void chapOnAnIpv6Portal() {
    LoginInstructions l = new LoginInstructions(NODE, IQN, "[fd00::1]:3260", 0,
        Optional.of(new ChapCredentials("local.v", "Secret0123456789", "", "")));
    assertThat(l.iscsiadm()).containsExactly(
        "iscsiadm -m discoverydb -t sendtargets -p [fd00::1]:3260 -o new",
        "iscsiadm -m discoverydb -t sendtargets -p [fd00::1]:3260 -o update -n "
            + "discovery.sendtargets.auth.authmethod -v CHAP",
        "iscsiadm -m discoverydb -t sendtargets -p [fd00::1]:3260 -o update -n "
            + "discovery.sendtargets.auth.username -v local.v",
        "iscsiadm -m discoverydb -t sendtargets -p [fd00::1]:3260 -o update -n "
            + "discovery.sendtargets.auth.password -v Secret0123456789",
        "iscsiadm -m discoverydb -t sendtargets -p [fd00::1]:3260 --discover",
        "iscsiadm -m node -T " + IQN + " -p [fd00::1]:3260 -o update -n "
            + "node.session.auth.authmethod -v CHAP",
        "iscsiadm -m node -T " + IQN + " -p [fd00::1]:3260 -o update -n "
            + "node.session.auth.username -v local.v",
        "iscsiadm -m node -T " + IQN + " -p [fd00::1]:3260 -o update -n "
            + "node.session.auth.password -v Secret0123456789",
        "iscsiadm -m node -T " + IQN + " -p [fd00::1]:3260 --login");
    assertThat(l.device()).isEqualTo("/dev/disk/by-path/ip-[fd00::1]:3260-iscsi-" + IQN
        + "-lun-0");
    assertThat(l.urlWithCredentials()).isEqualTo("iscsi://local.v%Secret0123456789@"
        + "[fd00::1]:3260/" + IQN + "/0");
    assertThat(l.environment()).containsExactly(
        "export LIBISCSI_CHAP_USERNAME='local.v'",
        "export LIBISCSI_CHAP_PASSWORD='Secret0123456789'",
        "export ISCSI_PORTAL='[fd00::1]:3260'",
        "export ISCSI_TARGET='" + IQN + "'",
        "export ISCSI_URL='iscsi://[fd00::1]:3260/" + IQN + "/0'");
  }

  @Test
  void withoutChapNothingSecretAndNoDiscovery() {
    LoginInstructions l = new LoginInstructions(NODE, IQN, "192.0.2.1:3260", 0,
        Optional.empty());
    assertThat(l.iscsiadm()).containsExactly(
        "iscsiadm -m node -T " + IQN + " -p 192.0.2.1:3260 -o new",
        "iscsiadm -m node -T " + IQN + " -p 192.0.2.1:3260 --login");
    assertThat(l.environment()).noneMatch(e -> e.contains("LIBISCSI_CHAP"));
    assertThat(l.urlWithCredentials()).isEqualTo(l.url());
    assertThat(l.render(false)).contains("No CHAP").doesNotContain("iscsi-ls");
  }
}
