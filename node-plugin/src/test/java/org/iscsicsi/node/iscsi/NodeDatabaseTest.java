package org.iscsicsi.node.iscsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the record writer against a temporary node database laid out as open-iscsi 2.1 lays it
 * out: the record of a target and portal is found (2.x directory layout with its iface file, the
 * older flat file, IPv6 without brackets), settings are replaced, added before "# END RECORD" and
 * removed, other lines are kept in order, the file ends up 0600 and its directories 0700, no
 * temporary file is left, and values open-iscsi would misread (surrounding blanks, a newline that
 * would inject a setting, a leading quote) are refused.
 */
class NodeDatabaseTest {

  static final String IQN = "iqn.2026-11.org.iscsicsi:pvc-1";
  static final String RECORD = """
      # BEGIN RECORD 2.1.8
      node.name = iqn.2026-11.org.iscsicsi:pvc-1
      node.tpgt = -1
      node.startup = automatic
      node.session.auth.authmethod = None
      node.session.auth.username_in = old-target-user
      node.conn[0].address = 10.0.2.2
      # END RECORD
      """;

  @TempDir Path root;
  private NodeDatabase db;
  private Path record;

  @BeforeEach
  void setUp() throws Exception {
    db = new NodeDatabase(root);
    Path dir = Files.createDirectories(root.resolve("nodes/" + IQN + "/10.0.2.2,3260,-1"));
    record = Files.writeString(dir.resolve("default"), RECORD);
    Files.setPosixFilePermissions(record, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void findsTheRecordOfTargetAndPortal() throws Exception {
    assertThat(db.nodeRecord(IQN, Portal.parse("10.0.2.2:3260"))).isEqualTo(record);
    // Another portal of the same target is not this one.
    Files.createDirectories(root.resolve("nodes/" + IQN + "/10.0.2.22,3260,1"));
    assertThat(db.nodeRecord(IQN, Portal.parse("10.0.2.2:3260"))).isEqualTo(record);
    assertThatThrownBy(() -> db.nodeRecord(IQN, Portal.parse("10.0.2.3:3260")))
        .isInstanceOf(IscsiException.class).hasMessageContaining("no node record");
  }

  @Test
  void findsTheOlderFlatLayoutAndIpv6WithoutBrackets() throws Exception {
    Path flat = Files.writeString(Files.createDirectories(root.resolve("nodes/" + IQN))
        .resolve("fd00::5,3260"), RECORD);
    assertThat(db.nodeRecord(IQN, Portal.parse("[fd00::5]:3260"))).isEqualTo(flat);
  }

  @Test
  void twoIfacesAreAmbiguousAndLeftAlone() throws Exception {
    Files.writeString(record.resolveSibling("iface1"), RECORD);
    assertThatThrownBy(() -> db.nodeRecord(IQN, Portal.parse("10.0.2.2:3260")))
        .isInstanceOf(IscsiException.class).hasMessageContaining("more than one");
  }

  @Test
  void replacesAddsAndRemovesSettingsAtomicallyWithMode0600() throws Exception {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("node.startup", "manual");
    s.put("node.session.auth.authmethod", "CHAP");
    s.put("node.session.auth.username", "user-1");
    s.put("node.session.auth.password", "p4ss!w0rd#x");
    s.put("node.session.auth.username_in", null);
    db.update(record, s);
    assertThat(Files.readString(record)).isEqualTo("""
        # BEGIN RECORD 2.1.8
        node.name = iqn.2026-11.org.iscsicsi:pvc-1
        node.tpgt = -1
        node.conn[0].address = 10.0.2.2
        node.startup = manual
        node.session.auth.authmethod = CHAP
        node.session.auth.username = user-1
        node.session.auth.password = p4ss!w0rd#x
        # END RECORD
        """);
    assertThat(Files.getPosixFilePermissions(record))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.getPosixFilePermissions(record.getParent()))
        .isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.getPosixFilePermissions(record.getParent().getParent()))
        .isEqualTo(PosixFilePermissions.fromString("rwx------"));
    try (Stream<Path> files = Files.list(record.getParent())) {
      assertThat(files).containsExactly(record);
    }
    // Again: idempotent, no duplicate lines.
    db.update(record, s);
    assertThat(Files.readString(record).lines().filter(l -> l.contains("auth.password")))
        .hasSize(1);
  }

  @Test
  void aRecordWithoutEndLineGetsTheSettingsAtTheEnd() throws Exception {
    Files.writeString(record, "node.name = " + IQN + "\n");
    db.update(record, Map.of("node.session.auth.authmethod", "CHAP"));
    assertThat(Files.readString(record))
        .isEqualTo("node.name = " + IQN + "\nnode.session.auth.authmethod = CHAP\n");
  }

  @Test
  void innerBlanksAreKeptBecauseIscsiadmReadsAValueToTheEndOfItsLine() throws Exception {
    db.update(record, Map.of("node.session.auth.password", "two words"));
    assertThat(Files.readString(record)).contains("node.session.auth.password = two words\n");
  }

  @Test
  void findsTheDiscoveryRecord() throws Exception {
    Path st = Files.writeString(Files.createDirectories(root.resolve("send_targets/10.0.2.2,3260"))
        .resolve("st_config"), "discovery.type = sendtargets\n# END RECORD\n");
    assertThat(db.discoveryRecord(Portal.parse("10.0.2.2:3260"))).isEqualTo(st);
    db.update(st, Map.of("discovery.sendtargets.auth.authmethod", "CHAP"));
    assertThat(Files.readString(st)).isEqualTo(
        "discovery.type = sendtargets\ndiscovery.sendtargets.auth.authmethod = CHAP\n"
            + "# END RECORD\n");
    assertThatThrownBy(() -> db.discoveryRecord(Portal.parse("10.0.2.9:3260")))
        .isInstanceOf(IscsiException.class).hasMessageContaining("no discovery record");
  }

  @Test
  void valuesOpenIscsiWouldMisreadAreRefusedAndTheFileIsUntouched() throws Exception {
    for (String bad : new String[] {" lead", "trail ", "new\nline = injected", "tab\there",
        "\"quoted", ""}) {
      Map<String, String> s = new HashMap<>();
      s.put("node.session.auth.password", bad);
      assertThatThrownBy(() -> db.update(record, s))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("node.session.auth.password")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain(bad.isEmpty() ? "\0" : bad));
    }
    assertThatThrownBy(() -> db.update(record, Map.of("Bad Name", "x")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> db.update(root.resolveSibling("elsewhere"), Map.of("a.b", "x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not in the node");
    assertThat(Files.readString(record)).isEqualTo(RECORD);
  }
}
