package org.iscsicsi.target.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.scsi.ScsiTargetDevice;

/**
 * A test-scope {@link TargetDirectory}: a map of targets, each with the real SCSI layer
 * ({@link ScsiTargetDevice}) over real file-backed {@link LogicalUnit}s. It stands in for the admin
 * layer's registry so that the iSCSI layer's tests do not depend on persistence.
 */
final class TestTargets implements TargetDirectory, AutoCloseable {

  /** One target: its ACL (initiator name to access; "ALL" for any), CHAP and login overrides. */
  record Target(String name, String alias, int portalGroupTag, Map<String, AccessLevel> acl,
      Optional<ChapSecret> incomingChap, Optional<ChapSecret> outgoingChap,
      Map<String, String> loginParameters, ScsiTargetDevice scsi) implements ExportedTarget {

    @Override
    public AccessLevel access(String initiatorName) {
      AccessLevel a = acl.get(initiatorName);
      return a != null ? a : acl.getOrDefault("ALL", AccessLevel.NONE);
    }
  }

  private final Map<String, Target> targets = new ConcurrentHashMap<>();
  private final List<LogicalUnit> units = new java.util.concurrent.CopyOnWriteArrayList<>();
  private int serial;

  /** Adds a target with one LUN 0 of {@code sizeBytes} backed by a sparse file in {@code dir}. */
  Target add(String name, Map<String, AccessLevel> acl, Optional<ChapSecret> in,
      Optional<ChapSecret> out, Map<String, String> login, Path dir, long sizeBytes)
      throws IOException {
    ScsiTargetDevice scsi = new ScsiTargetDevice(name);
    int n = ++serial;
    byte[] naa = new byte[16];
    naa[0] = 0x60;
    naa[15] = (byte) n;
    LogicalUnit unit = LogicalUnit.create(new LunConfig(dir.resolve("lun" + n + ".img"),
        sizeBytes, 512, true, false, "SERIAL" + n, naa));
    units.add(unit);
    scsi.attach(0, unit);
    Target t = new Target(name, "", 1, acl, in, out, login, scsi);
    targets.put(name, t);
    return t;
  }

  @Override
  public Optional<ExportedTarget> target(String name) {
    return Optional.ofNullable(targets.get(name));
  }

  @Override
  public List<ExportedTarget> targets() {
    return List.copyOf(targets.values());
  }

  @Override
  public void close() throws IOException {
    for (LogicalUnit u : units) {
      u.close();
    }
  }
}
