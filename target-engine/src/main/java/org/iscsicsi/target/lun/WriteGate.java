package org.iscsicsi.target.lun;

import java.util.concurrent.locks.StampedLock;

/**
 * Lets any number of writes pass at once, or holds them all for a quiesce (a consistent
 * snapshot): a hold waits for writes in flight and keeps new ones out until it is released.
 */
final class WriteGate {

  private final StampedLock lock = new StampedLock();

  /** Enters for one write, waiting while held; pass the stamp to {@link #leave}. */
  long enter() {
    return lock.readLock();
  }

  /** Enters for one write unless held: then 0, without waiting. */
  long tryEnter() {
    return lock.tryReadLock();
  }

  void leave(long stamp) {
    lock.unlockRead(stamp);
  }

  /** Holds writes once those in flight are done; closing the handle (once or more) releases. */
  LogicalUnit.Quiesce hold() {
    long stamp = lock.writeLock();
    boolean[] released = {false};
    return () -> {
      synchronized (released) {
        if (!released[0]) {
          released[0] = true;
          lock.unlockWrite(stamp);
        }
      }
    };
  }
}
