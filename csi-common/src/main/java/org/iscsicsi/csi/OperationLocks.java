package org.iscsicsi.csi;

import io.grpc.Status;
import java.util.concurrent.ConcurrentHashMap;

/**
 * At most one operation per volume (or snapshot) at a time, in the controller and in the node
 * plugin alike. A second call while one is running is ABORTED, as the CSI spec's error scheme
 * prescribes ("Operation pending for volume": the CO retries with backoff), instead of racing on
 * the same target, session or mount; different volumes proceed in parallel.
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
   * @param operation what runs under the lock (named in the refusal of a second caller)
   * @throws io.grpc.StatusRuntimeException ABORTED when another operation holds it
   */
  public Held acquire(String key, String operation) {
    String other = running.putIfAbsent(key, operation);
    if (other != null) {
      throw Status.ABORTED.withDescription(other + " is still running for " + key + "; "
          + operation + " will be retried").asRuntimeException();
    }
    return () -> running.remove(key, operation);
  }
}
