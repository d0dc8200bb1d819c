package org.iscsicsi.csi.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Pins argument validation: values that could become options or escape a path are refused. */
class ArgsTest {

  @Test
  void acceptsIscsiNames() {
    assertThat(Args.iscsiName("t", "iqn.2003-01.org.linux-iscsi.host:sn.a0bed4ed5f7a"))
        .isNotNull();
    assertThat(Args.iscsiName("t", "iqn.2026-11.org.iscsicsi:pvc-1234")).isNotNull();
    assertThat(Args.iscsiName("t", "eui.02004567A425678D")).isNotNull();
    assertThat(Args.iscsiName("t", "naa.52004567BA64678D")).isNotNull();
  }

  @Test
  void refusesBadIscsiNames() {
    for (String bad : new String[] {"", "-o", "iqn", "iqn.20-1.x:y", "iqn.2003-01.org.x: y",
        "--login", "iqn.2003-01.ORG.x:y"}) {
      assertThatThrownBy(() -> Args.iscsiName("target", bad), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void pathsMustBeAbsoluteAndNormalized() {
    assertThat(Args.absolutePath("p", "/var/lib/kubelet/x").toString())
        .isEqualTo("/var/lib/kubelet/x");
    for (String bad : new String[] {"", "relative", "/a/../b", "/a/./b", "/a/.."}) {
      assertThatThrownBy(() -> Args.absolutePath("p", bad), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void mountOptionsCannotSmuggleArguments() {
    assertThat(Args.mountOption("noatime")).isEqualTo("noatime");
    assertThat(Args.mountOption("data=ordered")).isEqualTo("data=ordered");
    for (String bad : new String[] {"-t", "a b", "x;y", ""}) {
      assertThatThrownBy(() -> Args.mountOption(bad), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** kubelet's SELinux option: the label double-quoted, MLS levels and ranges with categories. */
  @Test
  void seLinuxContextOptionsAreAcceptedOnlyAsLabels() {
    for (String ok : new String[] {
        "context=\"system_u:object_r:container_file_t:s0:c1,c7\"",
        "context=\"system_u:object_r:container_file_t:s0\"",
        "fscontext=\"system_u:object_r:svirt_sandbox_file_t:s0-s0:c0.c1023\"",
        "defcontext=\"user_u:role_r:type_t\"", "rootcontext=\"a:b:c:s0:c0,c3.c5\"",
        "context=system_u:object_r:container_file_t:s0"}) {
      assertThat(Args.mountOption(ok)).isEqualTo(ok);
    }
    for (String bad : new String[] {"context=\"x\"", "context=\"a:b:c:s0\",suid",
        "context=\"a:b:c:s0", "context=\"a:b:c;d\"", "context=\"a:b:c:s0:c1 c2\"",
        "label=\"a:b:c\"", "context=\"-a:b:c\""}) {
      assertThatThrownBy(() -> Args.mountOption(bad), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void plainValuesMustNotLookLikeOptions() {
    assertThatThrownBy(() -> Args.plain("user", "--login"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Args.plain("user", "alice")).isEqualTo("alice");
  }
}
