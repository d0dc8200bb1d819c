package org.iscsicsi.node.multipath;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins how the host's multipath configuration is read: multipath.conf and the conf.d drop-ins
 * together, comments ignored; the section 7 stanza has no problem; a blacklist of the vendor (or
 * of every sd disk) is found, a blacklist_exceptions section is not one; a device section without
 * group_by_prio, prio alua or no_path_retry queue is reported setting by setting.
 */
class MultipathConfigTest {

  @TempDir Path tmp;

  @Test
  void theStanzaInADropInHasNoProblem() throws Exception {
    Path conf = tmp.resolve("multipath.conf");
    Files.writeString(conf, "defaults {\n  user_friendly_names no\n}\n");
    Path dir = Files.createDirectories(MultipathConfig.confDir(conf));
    Files.writeString(dir.resolve("iscsi-csi.conf"), MultipathConfig.STANZA);
    Files.writeString(dir.resolve("ignored.txt"), "blacklist { devnode \"^sd\" }\n");
    MultipathConfig c = MultipathConfig.read(conf, dir);
    assertThat(c.replicationProblems()).isEmpty();
    assertThat(c.blacklistsDriver()).isFalse();
    assertThat(c.driverDevice()).hasValueSatisfying(d -> assertThat(d).contains("prio alua"));
  }

  @Test
  void blacklistsAreFoundButNotTheirExceptionsNorComments() {
    assertThat(new MultipathConfig("blacklist {\n device {\n  vendor \"ISCSICSI\"\n }\n}\n")
        .blacklistsDriver()).isTrue();
    assertThat(new MultipathConfig("blacklist {\n  devnode \"^sd[a-z]\"\n}\n")
        .blacklistsDriver()).isTrue();
    assertThat(new MultipathConfig("blacklist_exceptions {\n device {\n  vendor \"ISCSICSI\"\n"
        + " }\n}\n").blacklistsDriver()).isFalse();
    assertThat(MultipathConfig.read(Files.exists(tmp.resolve("x")) ? tmp : tmp.resolve("none"),
        tmp.resolve("none.d")).replicationProblems()).anySatisfy(p -> assertThat(p)
        .contains("no device section"));
  }

  @Test
  void aWeakDeviceSectionIsReportedSettingBySetting() {
    MultipathConfig c = new MultipathConfig("devices {\n device {\n  vendor \"ISCSICSI\"\n"
        + "  product \".*\"\n  no_path_retry 5 # bounded\n }\n}\n");
    assertThat(c.replicationProblems()).hasSize(3)
        .anySatisfy(p -> assertThat(p).contains("group_by_prio"))
        .anySatisfy(p -> assertThat(p).contains("prio alua"))
        .anySatisfy(p -> assertThat(p).contains("no_path_retry queue"));
  }
}
