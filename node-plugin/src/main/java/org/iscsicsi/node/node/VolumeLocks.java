package org.iscsicsi.node.node;

import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One operation per volume at a time: a second concurrent call for the same volume gets ABORTED
 * (CSI spec, "Concurrency": the CO retries), while different volumes proceed in parallel.
 */
public final class VolumeLocks {

  private final Set<String> busy = ConcurrentHashMap.newKeySet();

  /** A held lock; closing it releases the volume. */
  public interface Held extends AutoCloseable {
    @Override
    void close();
  }

  public Held acquire(String volumeId, String operation) throws CsiException {
    if (!busy.add(volumeId)) {
      throw new CsiException(Status.Code.ABORTED, "an operation on volume " + volumeId
          + " is already in progress; " + operation + " will be retried");
    }
    return () -> busy.remove(volumeId);
  }
}
