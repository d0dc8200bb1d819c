package org.iscsicsi.target.server;

import java.net.InetAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Backoff after failed authentications, per source address: once an address has failed {@code
 * failuresBeforeBackoff} times within the window, its logins are refused until a backoff ends;
 * every further failure after that doubles the backoff up to the maximum. An address forgets its
 * record once the window and its backoff have passed. At most {@code trackedSources} addresses
 * are remembered; when full, the one least recently seen is forgotten. Thread-safe.
 */
final class FailureBackoff {

  private static final class Record {
    long windowStart;
    int failures;
    int backoffs;
    long blockedUntil;
    long lastFailure;
  }

  private final AdmissionLimits limits;
  private final LongSupplier nanoClock;
  // access order: the eldest entry is the one seen longest ago
  private final LinkedHashMap<InetAddress, Record> records = new LinkedHashMap<>(64, 0.75f, true);

  FailureBackoff(AdmissionLimits limits, LongSupplier nanoClock) {
    this.limits = limits;
    this.nanoClock = nanoClock;
  }

  /** Nanoseconds {@code source} must still wait before logging in; 0 when it may now. */
  synchronized long blockedForNanos(InetAddress source) {
    Record r = records.get(source);
    if (r == null) {
      return 0;
    }
    return Math.max(0, r.blockedUntil - nanoClock.getAsLong());
  }

  /** Records an authentication failure of {@code source}. */
  synchronized void failed(InetAddress source) {
    long now = nanoClock.getAsLong();
    Record r = records.get(source);
    if (r == null) {
      evictStale(now);
      if (records.size() >= limits.trackedSources()) {
        Iterator<Map.Entry<InetAddress, Record>> eldest = records.entrySet().iterator();
        eldest.next();
        eldest.remove();
      }
      r = new Record();
      r.windowStart = now;
      records.put(source, r);
    }
    if (now - r.windowStart > limits.failureWindow().toNanos() && r.blockedUntil <= now) {
      r.windowStart = now;
      r.failures = 0;
    }
    r.failures++;
    r.lastFailure = now;
    if (r.failures >= limits.failuresBeforeBackoff()) {
      long backoff = Math.min(limits.maxBackoff().toNanos(),
          limits.firstBackoff().toNanos() << Math.min(r.backoffs, 30));
      r.backoffs++;
      r.blockedUntil = now + backoff;
    }
  }

  synchronized int trackedSources() {
    return records.size();
  }

  /** Drops records whose window and backoff are over. */
  private void evictStale(long now) {
    long window = limits.failureWindow().toNanos();
    records.values().removeIf(r -> r.blockedUntil <= now && now - r.lastFailure > window
        && now - r.blockedUntil > limits.maxBackoff().toNanos());
  }
}
