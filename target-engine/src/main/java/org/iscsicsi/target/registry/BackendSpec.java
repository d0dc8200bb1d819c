package org.iscsicsi.target.registry;

import java.util.regex.Pattern;
import org.iscsicsi.target.lvm.LvmName;

/**
 * A backend as the engine is told to serve it ({@code serve --backend NAME=TYPE:ARGS}): files in
 * the pool directory ({@code fileio}), a volume group ({@code lvm:VG}) or a thin pool
 * ({@code lvm-thin:VG/POOL}). A whole disk arrives here as the volume group made on it.
 *
 * @param vg the volume group ({@code lvm}, {@code lvm-thin}), else null
 * @param pool the thin pool ({@code lvm-thin}), else null
 */
public record BackendSpec(String name, String type, String vg, String pool) {

  /** Backend names as StorageClasses and CreateLun carry them (the controller's rule). */
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");

  public BackendSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("backend name \"" + name + "\" must be 1-32 lowercase "
          + "letters, digits and '-', starting and ending with a letter or digit");
    }
    switch (type) {
      case FileBackend.TYPE -> {
        if (vg != null || pool != null) {
          throw new IllegalArgumentException("backend " + name + ": fileio takes no volume group");
        }
      }
      case LvmBackend.THICK -> {
        LvmName.vg(vg);
        if (pool != null) {
          throw new IllegalArgumentException("backend " + name + ": lvm takes no thin pool "
              + "(lvm-thin:VG/POOL is the thin backend)");
        }
      }
      case LvmBackend.THIN -> {
        LvmName.vg(vg);
        LvmName.lv(pool);
      }
      case null, default -> throw new IllegalArgumentException("backend " + name + ": type \""
          + type + "\" is none of fileio, lvm, lvm-thin");
    }
  }

  public static BackendSpec fileio(String name) {
    return new BackendSpec(name, FileBackend.TYPE, null, null);
  }
}
