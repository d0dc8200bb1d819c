package org.iscsicsi.target.session;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How many logins ended with each Login Response status (RFC 7143 section 11.13.5): success, or
 * the status class and detail of the failure. Counted once per login (its final response), read
 * at scrape time by the metrics.
 */
public final class LoginOutcomes {

  private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();

  /** Records the final response of a login: status class and detail. */
  void record(int statusClass, int statusDetail) {
    byStatus.computeIfAbsent((statusClass & 0xff) << 8 | statusDetail & 0xff,
        k -> new LongAdder()).increment();
  }

  /** Counts keyed by {@code statusClass << 8 | statusDetail} (0 is success), in order. */
  public Map<Integer, Long> counts() {
    Map<Integer, Long> out = new TreeMap<>();
    byStatus.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
