package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.state.StateStore;

/** A registry on a state directory below a test's directory, opened as the engine opens it. */
record OpenRegistry(StateStore store, TargetRegistry registry) implements AutoCloseable {

  static final Duration COPY_TIMEOUT = Duration.ofMinutes(1);

  static OpenRegistry in(Path dir) throws IOException {
    StateStore store = StateStore.open(dir.resolve("state"));
    return new OpenRegistry(store, TargetRegistry.open(store, dir.resolve("state/luns"),
        dir.resolve("state/snapshots"), COPY_TIMEOUT));
  }

  /** The unit the iSCSI layer sees for LUN {@code lun} of {@code target}. */
  LogicalUnit unit(String target, int lun) {
    var port = (ScsiTargetDevice) registry.target(target).orElseThrow().scsi();
    return port.luns().get((long) lun);
  }

  @Override
  public void close() throws IOException {
    registry.close();
    store.close();
  }
}
