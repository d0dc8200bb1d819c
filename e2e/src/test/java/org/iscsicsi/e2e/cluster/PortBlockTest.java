package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two runs on one machine use different ports: while this JVM holds its block, a second JVM
 * (another Maven run, or the playground beside a test run) claims another one; the block's
 * ports derive from its base as start.sh derives them.
 */
class PortBlockTest {

  @Test
  void aSecondRunTakesAnotherBlock() throws Exception {
    int mine = PortBlock.BASE;
    String java = ProcessHandle.current().info().command().orElseThrow();
    ProcessBuilder pb = new ProcessBuilder(List.of(java, "-cp",
        System.getProperty("java.class.path"), PortBlock.class.getName()));
    pb.environment().remove(PortBlock.ENV);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    int theirs = Integer.parseInt(out);
    assertThat(theirs).isNotEqualTo(mine);
    assertThat(Math.abs(theirs - mine) % PortBlock.STRIDE).isZero();
  }

  @Test
  void portsDeriveFromTheBaseAsStartShDerivesThem() {
    assertThat(PortBlock.clusterPorts()).containsExactly(PortBlock.BASE, PortBlock.BASE + 1,
        PortBlock.API, PortBlock.BASE + 3, PortBlock.BASE + 4, PortBlock.PORTAL);
    assertThat(TestCluster.PORTAL_PORT).isEqualTo(PortBlock.BASE + 10);
    assertThat(VmKubelet.CSI_PORT).isEqualTo(PortBlock.BASE + 202);
  }
}
