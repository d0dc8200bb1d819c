package org.iscsicsi.target.registry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.lvm.DiskSetup;
import org.iscsicsi.target.lvm.LvmCommands;

/**
 * The engine's backends, the default first: which one a CreateLun names (none: the default),
 * which one owns a recorded path (none: the file backend, where LUNs recorded before there were
 * backends lie).
 */
final class Backends {

  /** Runs blkid for the device checks of {@code blockio} backends. */
  private static final ProcessCommandRunner CHECKS = new ProcessCommandRunner();
  private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(30);

  private final List<Backend> all;
  private final FileBackend files;

  Backends(List<Backend> all) {
    this.all = List.copyOf(all);
    this.files = (FileBackend) all.stream().filter(b -> b instanceof FileBackend).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no fileio backend"));
    long distinct = all.stream().map(Backend::name).distinct().count();
    if (distinct != all.size()) {
      throw new IllegalArgumentException("backend names repeat: " + names());
    }
  }

  List<Backend> all() {
    return all;
  }

  /** The backend named, the default for null or empty; INVALID_ARGUMENT naming the choices. */
  Backend named(String name) {
    if (name == null || name.isEmpty()) {
      return all.getFirst();
    }
    return all.stream().filter(b -> b.name().equals(name)).findFirst()
        .orElseThrow(() -> RegistryException.invalid("this engine has no backend \"" + name
            + "\"; it has " + names()));
  }

  /** The backend holding a LUN's or snapshot's storage. */
  Backend of(Path path) {
    for (Backend b : all) {
      if (!(b instanceof FileBackend) && b.owns(path)) {
        return b;
      }
    }
    return files;
  }

  String names() {
    return all.stream().map(Backend::name).collect(Collectors.joining(", "));
  }

  static Backends of(List<BackendSpec> specs, LunFiles lunFiles, LvmCommands lvm) {
    List<Backend> out = new ArrayList<>();
    for (BackendSpec s : specs) {
      out.add(switch (s.type()) {
        case FileBackend.TYPE -> new FileBackend(s.name(), lunFiles);
        case LvmBackend.THICK -> new LvmBackend(s.name(), s.vg(), null, lvm);
        case DeviceBackend.TYPE -> new DeviceBackend(s.name(), s.device(),
            new DiskSetup(lvm, CHECKS, CHECK_TIMEOUT));
        default -> new LvmBackend(s.name(), s.vg(), s.pool(), lvm);
      });
    }
    if (out.stream().noneMatch(b -> b instanceof FileBackend)) {
      out.add(new FileBackend(FileBackend.TYPE, lunFiles));
    }
    return new Backends(out);
  }
}
