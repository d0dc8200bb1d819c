package org.iscsicsi.target.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.lvm.DiskSetup;
import org.iscsicsi.target.lvm.LvmCommands;
import org.iscsicsi.target.registry.BackendSpec;

/**
 * Turns the {@code --backend} options into the registry's backends at start: a whole disk
 * becomes its volume group ({@link DiskSetup}) under the engine's name. lvm runs with udev when
 * udev runs here ({@code /run/udev/control}), and without it (lvm makes the device nodes) inside
 * a container.
 */
final class EngineBackends {

  /** lvm's commands can wait for locks and udev; an LV create or remove takes well under this. */
  static final Duration LVM_TIMEOUT = Duration.ofMinutes(2);
  static final LvmCommands LVM = new LvmCommands(new ProcessCommandRunner(), LVM_TIMEOUT,
      Files.exists(Path.of("/run/udev/control")));

  private EngineBackends() {
  }

  static List<BackendSpec> resolve(List<BackendOption> options, String engineName)
      throws IOException {
    List<BackendSpec> out = new ArrayList<>();
    DiskSetup disks = new DiskSetup(LVM, new ProcessCommandRunner(), LVM_TIMEOUT);
    for (BackendOption o : options) {
      out.add(switch (o) {
        case BackendOption.Given g -> g.spec();
        case BackendOption.Disk d -> {
          String vg = disks.ensure(engineName, d.device(), d.thin());
          yield d.thin() ? BackendSpec.lvmThin(d.name(), vg, DiskSetup.THIN_POOL)
              : BackendSpec.lvm(d.name(), vg);
        }
      });
    }
    return out;
  }
}
