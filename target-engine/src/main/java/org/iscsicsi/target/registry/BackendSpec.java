package org.iscsicsi.target.registry;

import java.nio.file.Path;
import java.util.regex.Pattern;
import org.iscsicsi.target.lvm.LvmName;

/**
 * A backend as the engine is told to serve it ({@code serve --backend NAME=TYPE:ARGS}): files in
 * the pool directory ({@code fileio}), a volume group ({@code lvm:VG}), a thin pool
 * ({@code lvm-thin:VG/POOL}) or one LUN on a whole device ({@code blockio:/dev/...}). A disk
 * given whole to LVM arrives here as the volume group made on it.
 *
 * @param vg the volume group ({@code lvm}, {@code lvm-thin}), else null
 * @param pool the thin pool ({@code lvm-thin}), else null
 * @param device the block device ({@code blockio}), else null
 */
public record BackendSpec(String name, String type, String vg, String pool, Path device) {

  /** Backend names as StorageClasses and CreateLun carry them (the controller's rule). */
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");

  public BackendSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("backend name \"" + name + "\" must be 1-32 lowercase "
          + "letters, digits and '-', starting and ending with a letter or digit");
    }
    switch (type) {
      case FileBackend.TYPE -> {
        if (vg != null || pool != null || device != null) {
          throw new IllegalArgumentException("backend " + name + ": fileio takes no arguments");
        }
      }
      case DeviceBackend.TYPE -> {
        if (device == null || !device.isAbsolute() || vg != null || pool != null) {
          throw new IllegalArgumentException("backend " + name + ": blockio takes one absolute "
              + "device path");
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
          + type + "\" is none of fileio, lvm, lvm-thin, blockio");
    }
    if (device != null && !type.equals(DeviceBackend.TYPE)) {
      throw new IllegalArgumentException("backend " + name + ": only blockio takes a device");
    }
  }

  public static BackendSpec fileio(String name) {
    return new BackendSpec(name, FileBackend.TYPE, null, null, null);
  }

  /** Thick volumes of {@code vg}. */
  public static BackendSpec lvm(String name, String vg) {
    return new BackendSpec(name, LvmBackend.THICK, vg, null, null);
  }

  /** Thin volumes of {@code vg/pool}. */
  public static BackendSpec lvmThin(String name, String vg, String pool) {
    return new BackendSpec(name, LvmBackend.THIN, vg, pool, null);
  }

  /** One LUN on {@code device}. */
  public static BackendSpec blockio(String name, Path device) {
    return new BackendSpec(name, DeviceBackend.TYPE, null, null, device);
  }
}
