package org.iscsicsi.controller.controller;

import java.util.concurrent.ConcurrentHashMap;
import org.iscsicsi.controller.volume.CsiErrors;

/**
 * At most one operation per volume (or snapshot) at a time. A second call while one is running is
 * ABORTED, as the CSI spec's error scheme prescribes ("Operation pending for volume": the CO
 * retries with backoff), instead of racing on the same target.
 */
public final class OperationLocks {

  private final ConcurrentHashMap<String, String> running = new ConcurrentHashMap<>();

  /** A held lock; closing it releases the key. */
  public interface Held extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Takes the lock for {@code key}.
   *
   * @throws io.grpc.StatusRuntimeException ABORTED when another operation holds it
   */
  public Held acquire(String key, String operation) {
    String other = running.putIfAbsent(key, operation);
    if (other != null) {
      throw CsiErrors.aborted(other + " is still running for " + key + "; retry later");
    }
    return () -> running.remove(key, operation);
  }
}
