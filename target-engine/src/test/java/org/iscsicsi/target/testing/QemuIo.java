package org.iscsicsi.target.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * The argv of qemu-io (libiscsi inside) running {@code commands} against one LUN over iSCSI,
 * with line-buffered output (stdbuf) so that a test can follow the writes it acknowledges while
 * it runs.
 */
public final class QemuIo {
  private QemuIo() {}

  /** qemu-io on {@code portal} ({@code host:port}), {@code target}'s {@code lun}. */
  public static List<String> argv(String portal, String target, int lun, String initiator,
      List<String> commands) {
    List<String> argv = new ArrayList<>(List.of("stdbuf", "-oL", "qemu-io", "--image-opts"));
    for (String c : commands) {
      argv.add("-c");
      argv.add(c);
    }
    argv.add("driver=iscsi,transport=tcp,portal=" + portal + ",target=" + target + ",lun=" + lun
        + ",initiator-name=" + initiator);
    return argv;
  }
}
