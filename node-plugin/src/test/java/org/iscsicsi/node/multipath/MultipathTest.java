package org.iscsicsi.node.multipath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.csi.exec.CommandResult;
import org.junit.jupiter.api.Test;

/**
 * Pins the multipath-tools commands: arguments are validated before anything runs (a WWID is 3
 * and lower-case hex, a path an sd disk name, so nothing option-like or shell-like reaches a
 * command); {@code show paths} output is read for one map only; {@code multipath -f} is retried
 * while the map is in use and gives up after the wait with a message that says so. The commands
 * are scripted (this host has no device-mapper); {@code MultipathNodeVmIT} runs the real ones.
 */
class MultipathTest {

  private static final String WWID = "36001405aabbccddeeff0011223344556";

  @Test
  void argumentsAreValidatedBeforeAnyCommandRuns() {
    List<String> ran = new ArrayList<>();
    Multipath m = new Multipath(c -> {
      ran.add(c.redacted());
      return new CommandResult(0, "", "");
    }, "multipath", "multipathd", Duration.ofSeconds(5));
    assertThatThrownBy(() -> m.flush("-v3", Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.flush(WWID.toUpperCase(), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.addPath("sdb; reboot")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.addWwid(Path.of("/dev"), "../sda"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(ran).isEmpty();
  }

  @Test
  void showPathsIsReadForOneMap() {
    String out = WWID + " sdb active ready\n" + WWID + " sdc failed faulty\n"
        + "36001405ffffffffffffffffffffffffff sdd active ready\nbroken\n";
    assertThat(Multipath.parsePaths(out, WWID)).containsExactly(
        new PathState("sdb", "active", "ready"), new PathState("sdc", "failed", "faulty"));
    assertThat(new PathState("sdc", "active", "ghost").usable()).isFalse();
  }

  @Test
  void flushIsRetriedWhileInUseThenGivesUp() throws Exception {
    int[] busy = {2};
    List<String> ran = new ArrayList<>();
    Multipath m = new Multipath(c -> {
      ran.add(c.redacted());
      return busy[0]-- > 0 ? new CommandResult(1, "", WWID + ": map in use")
          : new CommandResult(0, "", "");
    }, "multipath", "multipathd", Duration.ofSeconds(5));
    m.flush(WWID, Duration.ofSeconds(5));
    assertThat(ran).containsExactly("multipath -f " + WWID, "multipath -f " + WWID,
        "multipath -f " + WWID);

    Multipath stuck = new Multipath(c -> new CommandResult(1, "", "map in use"), "multipath",
        "multipathd", Duration.ofSeconds(5));
    assertThatThrownBy(() -> stuck.flush(WWID, Duration.ofMillis(600)))
        .isInstanceOf(MultipathException.class).hasMessageContaining("still in use");
    Multipath other = new Multipath(c -> new CommandResult(1, "", "no such map"), "multipath",
        "multipathd", Duration.ofSeconds(5));
    assertThatThrownBy(() -> other.flush(WWID, Duration.ofSeconds(5)))
        .isInstanceOf(MultipathException.class).hasMessageContaining("no such map");
  }
}
