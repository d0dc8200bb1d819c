package org.iscsicsi.target.registry;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CancellationException;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The copies that run outside the registry's lock (a LUN being created, a snapshot being taken):
 * each under a key with a future completed when it ends, the sources it reads with their number of
 * readers, and the serials and NAAs it reserved. So a change to what a copy reads or writes is
 * refused while it runs, a repeated call can wait for the first, and no two copies pick the same
 * identity.
 *
 * <p>Not thread-safe: the registry's one lock guards it (callers hold it for every method but
 * {@link #awaitEnd}). {@code CopyTrackerTest} pins reader counting, the busy checks (exact key and
 * a target's prefix), identity reservation and that ending a copy wakes its waiters.
 */
final class CopyTracker {

  private static final Logger log = LoggerFactory.getLogger(CopyTracker.class);

  private final Map<String, CompletableFuture<Void>> inFlight = new HashMap<>();
  private final Map<String, Integer> readers = new HashMap<>();
  private final Set<String> pendingIdentities = new HashSet<>();

  /** The key of a LUN: a copy's destination (being created) or source (a clone or snapshot). */
  static String lun(String target, int lun) {
    return lunsOf(target) + lun;
  }

  /** The prefix of the keys of every LUN of {@code target}. */
  static String lunsOf(String target) {
    return "lun:" + target + "/";
  }

  /** The key of a snapshot being taken. */
  static String snapshot(String id) {
    return "snap:" + id;
  }

  /** The key of a snapshot's file read by a restore. */
  static String snapshotFile(String id) {
    return "snapfile:" + id;
  }

  /** The copy running under {@code key}, or null. */
  CompletableFuture<Void> running(String key) {
    return inFlight.get(key);
  }

  /** Starts a copy under {@code key} reading {@code source} (null when it reads nothing). */
  void start(String key, String source) {
    inFlight.put(key, new CompletableFuture<>());
    if (source != null) {
      readers.merge(source, 1, Integer::sum);
    }
  }

  /** Keeps a new LUN's serial and NAA from other copies until {@link #end} gives them back. */
  void reserve(LunIdentity.Identity id) {
    pendingIdentities.add(id.serial());
    pendingIdentities.add(id.naa());
  }

  /** Serials and NAAs reserved by running copies (a read-only view). */
  Set<String> reservedIdentities() {
    return Collections.unmodifiableSet(pendingIdentities);
  }

  /** Ends a copy: frees its key, its source and the identity it reserved; wakes its waiters. */
  void end(String key, String source, LunRecord rec) {
    CompletableFuture<Void> f = inFlight.remove(key);
    if (source != null) {
      readers.computeIfPresent(source, (k, n) -> n > 1 ? n - 1 : null);
    }
    if (rec != null) {
      pendingIdentities.remove(rec.serial());
      pendingIdentities.remove(rec.naa());
    }
    if (f != null) {
      f.complete(null);
    }
  }

  /** Whether a copy reads or writes what {@code key} names. */
  boolean inUse(String key) {
    return readers.containsKey(key) || inFlight.containsKey(key);
  }

  /** Whether a copy reads or writes anything whose key starts with {@code prefix}. */
  boolean anyInUseUnder(String prefix) {
    return readers.keySet().stream().anyMatch(k -> k.startsWith(prefix))
        || inFlight.keySet().stream().anyMatch(k -> k.startsWith(prefix));
  }

  /** Refuses to change what a running copy reads from or writes to. */
  void requireIdle(String key, String what) {
    if (inUse(key)) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, what
          + " is being copied (snapshot, clone or restore in progress); try again later");
    }
  }

  /**
   * Waits (without the lock) for a copy to end. Its outcome is not this caller's: the call that
   * started it reports its own failure, and this one re-examines the state afterwards.
   */
  static void awaitEnd(CompletableFuture<Void> f) {
    try {
      f.join();
    } catch (CompletionException | CancellationException e) {
      log.debug("awaited copy ended abnormally; re-examining the state", e);
    }
  }
}
