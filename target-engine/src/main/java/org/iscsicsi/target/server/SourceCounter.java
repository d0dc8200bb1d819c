package org.iscsicsi.target.server;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts what each source address holds (connections, discovery sessions) against a per-source
 * and a total limit. Addresses holding nothing are dropped, so the map is as large as the number
 * of addresses with something open. Thread-safe.
 */
final class SourceCounter {

  private final int perSource;
  private final int total;
  private final Map<InetAddress, Integer> held = new HashMap<>();
  private int sum;

  SourceCounter(int perSource, int total) {
    this.perSource = perSource;
    this.total = total;
  }

  /** Takes one for {@code source}; false (nothing taken) when a limit is reached. */
  synchronized boolean acquire(InetAddress source) {
    int n = held.getOrDefault(source, 0);
    if (n >= perSource || sum >= total) {
      return false;
    }
    held.put(source, n + 1);
    sum++;
    return true;
  }

  /** Gives back one that {@link #acquire} took. */
  synchronized void release(InetAddress source) {
    Integer n = held.get(source);
    if (n == null) {
      throw new IllegalStateException("release without acquire for " + source);
    }
    if (n == 1) {
      held.remove(source);
    } else {
      held.put(source, n - 1);
    }
    sum--;
  }

  synchronized int total() {
    return sum;
  }

  synchronized int sources() {
    return held.size();
  }
}
