package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins garbage collection of orphaned sessions and node records: this driver's targets that no
 * staged volume refers to are logged out and forgotten; staged volumes' targets and other
 * software's targets are left alone. iscsiadm is scripted with its real output formats because
 * this host cannot run open-iscsi (no SCSI layer in its kernel).
 */
class SessionCollectorTest {

  @TempDir Path tmp;

  @Test
  void collectsOnlyThisDriversUnreferencedTargets() throws Exception {
    StateStore state = new StateStore(tmp);
    state.save(new StagedVolume("pvc-keep", Path.of("/staging/keep"), Map.of("targetIqn",
        "iqn.2026-11.org.iscsicsi:pvc-keep", "portals", "10.0.2.2:3260"), false, "ext4", false));
    List<String> calls = new CopyOnWriteArrayList<>();
    Iscsiadm iscsiadm = new Iscsiadm(c -> {
      String line = String.join(" ", c.argv());
      calls.add(line);
      if (line.equals("iscsiadm -m session")) {
        return new CommandResult(0, """
            tcp: [1] 10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:pvc-keep (non-flash)
            tcp: [2] 10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:pvc-gone (non-flash)
            tcp: [3] 192.168.1.5:3260,1 iqn.2003-01.org.linux-iscsi.nas:other (non-flash)
            """, "");
      }
      if (line.equals("iscsiadm -m node")) {
        return new CommandResult(0, """
            10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:pvc-keep
            10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:pvc-gone
            10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:pvc-record-only
            192.168.1.5:3260,1 iqn.2003-01.org.linux-iscsi.nas:other
            """, "");
      }
      return new CommandResult(0, "", "");
    }, "iscsiadm", new NodeDatabase(tmp.resolve("iscsi")), Duration.ofSeconds(5),
        Duration.ofSeconds(5));
    var collected = new SessionCollector(iscsiadm, state, "iqn.2026-11.org.iscsicsi:").collect();
    assertThat(collected).containsExactlyInAnyOrder("iqn.2026-11.org.iscsicsi:pvc-gone",
        "iqn.2026-11.org.iscsicsi:pvc-record-only");
    assertThat(calls).contains(
        "iscsiadm -m node -T iqn.2026-11.org.iscsicsi:pvc-gone -p 10.0.2.2:3260 --logout",
        "iscsiadm -m node -T iqn.2026-11.org.iscsicsi:pvc-gone -p 10.0.2.2:3260 -o delete",
        "iscsiadm -m node -T iqn.2026-11.org.iscsicsi:pvc-record-only -p 10.0.2.2:3260 -o delete");
    assertThat(calls).noneMatch(l -> l.contains("pvc-keep -p") || l.contains("nas:other -p"));
  }

  @Test
  void noSessionsIsNothingToDo() throws Exception {
    Iscsiadm iscsiadm = new Iscsiadm(c -> new CommandResult(21, "",
        "iscsiadm: No active sessions."), "iscsiadm", new NodeDatabase(tmp.resolve("iscsi")),
        Duration.ofSeconds(5),
        Duration.ofSeconds(5));
    assertThat(new SessionCollector(iscsiadm, new StateStore(tmp), "iqn.2026-11.org.iscsicsi:")
        .collect()).isEmpty();
  }

}
