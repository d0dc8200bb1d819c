package org.iscsicsi.target.engine;

import java.nio.file.Path;
import org.iscsicsi.csi.exec.Args;
import org.iscsicsi.target.registry.BackendSpec;

/**
 * One {@code --backend NAME=TYPE:ARGS}: {@code NAME=fileio}, {@code NAME=lvm:VG}, {@code
 * NAME=lvm-thin:VG/POOL}, one LUN on a device {@code NAME=blockio:/dev/...}, or a whole disk {@code
 * NAME=disk:/dev/disk/by-id/...[,thin]} on which the engine makes the volume group {@code
 * isc-<engine>} (and the thin pool {@code pool} with {@code ,thin}) at its first start.
 */
public sealed interface BackendOption {

  String name();

  /** A backend named with all it needs. */
  record Given(BackendSpec spec) implements BackendOption {
    @Override
    public String name() {
      return spec.name();
    }
  }

  /** A disk the engine makes a volume group on. */
  record Disk(String name, Path device, boolean thin) implements BackendOption {
  }

  /** Parses the flag's value; IllegalArgumentException saying what is expected. */
  static BackendOption parse(String value) {
    int eq = value.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--backend " + value + ": expected NAME=TYPE:ARGS "
          + "(fileio, lvm:VG, lvm-thin:VG/POOL, blockio:/dev/..., disk:/dev/...[,thin])");
    }
    String name = value.substring(0, eq);
    String rest = value.substring(eq + 1);
    int colon = rest.indexOf(':');
    String type = colon < 0 ? rest : rest.substring(0, colon);
    String args = colon < 0 ? "" : rest.substring(colon + 1);
    return switch (type) {
      case "fileio" -> {
        if (!args.isEmpty()) {
          throw new IllegalArgumentException("--backend " + value + ": fileio takes no "
              + "arguments (its files go to --pool-dir)");
        }
        yield new Given(BackendSpec.fileio(name));
      }
      case "lvm" -> new Given(BackendSpec.lvm(name, args));
      case "blockio" -> new Given(BackendSpec.blockio(name,
          Args.absolutePath("--backend blockio device", args)));
      case "lvm-thin" -> {
        int slash = args.indexOf('/');
        if (slash < 0) {
          throw new IllegalArgumentException("--backend " + value + ": lvm-thin needs VG/POOL");
        }
        yield new Given(BackendSpec.lvmThin(name, args.substring(0, slash),
            args.substring(slash + 1)));
      }
      case "disk" -> {
        boolean thin = args.endsWith(",thin");
        String device = thin ? args.substring(0, args.length() - ",thin".length()) : args;
        BackendSpec.fileio(name); // the name rule
        yield new Disk(name, Args.absolutePath("--backend disk device", device), thin);
      }
      default -> throw new IllegalArgumentException("--backend " + value + ": type \"" + type
          + "\" is none of fileio, lvm, lvm-thin, blockio, disk");
    };
  }
}
