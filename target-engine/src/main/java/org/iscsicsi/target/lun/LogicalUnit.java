package org.iscsicsi.target.lun;

import java.io.IOException;
import java.util.Optional;

/**
 * A file-backed logical unit: positional I/O on a (sparse by default) file.
 *
 * <p>Contract shared by the SCSI layer (which implements it) and the registry/admin layer (which
 * creates, resizes, snapshots and deletes LUNs).
 */
public final class LogicalUnit implements AutoCloseable {

  private LogicalUnit() {
  }

  /** Creates the backing file (sparse, or preallocated when not thin) and opens it. */
  public static LogicalUnit create(LunConfig config) throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Opens an existing backing file, as after an engine restart. */
  public static LogicalUnit open(LunConfig config) throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public LunConfig config() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public long sizeBytes() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Grows the LUN online; every nexus gets CAPACITY DATA HAS CHANGED. */
  public void resize(long newSizeBytes) throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Bytes the backing file really occupies on disk. */
  public long allocatedBytes() throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public LunCounters counters() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /**
   * Holds new writes, waits for writes in flight and forces the file to stable storage; writes
   * resume when the returned handle is closed. Used to take consistent snapshots.
   */
  public Quiesce quiesce() throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Empty when healthy; otherwise why the backing file is unusable (missing, unreadable). */
  public Optional<String> condition() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public void close() throws IOException {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** A hold on a LUN's writes; closing it lets writes go on. */
  public interface Quiesce extends AutoCloseable {
    @Override
    void close();
  }
}
