package org.iscsicsi.node.iscsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * Pins parsing of iscsiadm's output against the formats open-iscsi 2.1 prints (lines as captured
 * from real hosts, including IPv6 portals, the "(non-flash)" suffix of newer versions and the
 * port-less form of old discovery output), and of portal strings from publish_context.
 */
class IscsiadmParserTest {

  @Test
  void parsesSessionListing() {
    String out = """
        tcp: [1] 192.169.1.109:3260,1 iqn.2003-01.org.linux-iscsi:lio-lv100 (non-flash)
        tcp: [12] [fd00::5]:3261,2 iqn.2026-11.org.iscsicsi:pvc-1
        tcp: [3] 10.0.2.2:3260,1 iqn.2001-04.com.example:storage.disk2.sys1.xyz (non-flash)
        """;
    var s = IscsiadmParser.sessions(out);
    assertThat(s).hasSize(3);
    assertThat(s.get(0)).isEqualTo(new IscsiSession(1, "tcp", new Portal("192.169.1.109", 3260),
        1, "iqn.2003-01.org.linux-iscsi:lio-lv100"));
    assertThat(s.get(1).portal()).isEqualTo(new Portal("[fd00::5]", 3261));
    assertThat(s.get(1).sid()).isEqualTo(12);
    assertThat(s.get(1).tpgt()).isEqualTo(2);
    assertThat(s.get(2).targetIqn()).isEqualTo("iqn.2001-04.com.example:storage.disk2.sys1.xyz");
  }

  @Test
  void skipsMessagesInSessionListing() {
    assertThat(IscsiadmParser.sessions("iscsiadm: No active sessions.\n")).isEmpty();
  }

  @Test
  void parsesDiscoveryAndNodeRecords() {
    // CHECKSTYLE.OFF: LineLength - iscsiadm's output as it prints it
    String out = """
        192.168.56.101:3260,1 iqn.2003-01.org.linux-iscsi.rheln1
        192.168.56.102:3260,2 iqn.2003-01.org.linux-iscsi.rheln1
        [2001:678:3fc:93:baad:caff:fefe:3f]:3260,1 iqn.2003-01.org.linux-iscsi.target.x8664:sn.887488016321
        192.168.1.100,1 iqn.2003-01.org.linux-iscsi.server.x8664:sn.a0bed4ed5f7a
        iscsiadm: some warning line
        """;
    // CHECKSTYLE.ON: LineLength
    var r = IscsiadmParser.records(out);
    assertThat(r).hasSize(4);
    assertThat(r.get(1)).isEqualTo(new NodeRecord(new Portal("192.168.56.102", 3260), 2,
        "iqn.2003-01.org.linux-iscsi.rheln1"));
    assertThat(r.get(2).portal().bareHost()).isEqualTo("2001:678:3fc:93:baad:caff:fefe:3f");
    assertThat(r.get(3).portal()).isEqualTo(new Portal("192.168.1.100", 3260));
  }

  @Test
  void parsesPortals() {
    assertThat(Portal.parse("10.0.2.2:3261")).isEqualTo(new Portal("10.0.2.2", 3261));
    assertThat(Portal.parse("target.example")).isEqualTo(new Portal("target.example", 3260));
    assertThat(Portal.parse("[fd00::1]:13420").toString()).isEqualTo("[fd00::1]:13420");
    assertThat(Portal.parse("[fd00::1]").port()).isEqualTo(3260);
    for (String bad : new String[] {"", "fd00::1", "host:0", "host:70000", "-p:1", "h:x",
        "[fd00::1"}) {
      assertThatThrownBy(() -> Portal.parse(bad), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void chapCredentialsNeverPrintSecrets() {
    var c = new ChapCredentials("user", "topsecret12", "tgt", "othersecret");
    assertThat(c.toString()).doesNotContain("topsecret12").doesNotContain("othersecret");
    assertThat(c.mutual()).isTrue();
    assertThatThrownBy(() -> new ChapCredentials("user", "s", "tgt", null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ChapCredentials("-u", "s", null, null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
