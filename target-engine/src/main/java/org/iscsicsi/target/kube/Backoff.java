package org.iscsicsi.target.kube;

import java.time.Duration;
import org.slf4j.Logger;

/**
 * Consecutive failures of one recurring API activity: how long to wait before the next attempt
 * (doubling from {@code first} up to {@code max}), and logs that say what failed without
 * flooding: the first failure and every change of error at WARN, repeats at DEBUG, the recovery
 * at INFO.
 */
final class Backoff {

  private final String activity;
  private final Duration first;
  private final Duration max;
  private final Logger log;
  private int failures;
  private String lastError = "";

  Backoff(String activity, Duration first, Duration max, Logger log) {
    this.activity = activity;
    this.first = first;
    this.max = max;
    this.log = log;
  }

  /** Records a failure; returns how long to wait before trying again. */
  Duration failed(Exception e) {
    failures++;
    String error = describe(e);
    Duration wait = delay();
    if (failures == 1 || !error.equals(lastError)) {
      log.warn("{} failed (attempt {}), retrying in {} ms: {}", activity, failures,
          wait.toMillis(), error);
    } else {
      log.debug("{} failed again (attempt {}): {}", activity, failures, error);
    }
    lastError = error;
    return wait;
  }

  /** Records a success. */
  void succeeded() {
    if (failures > 0) {
      log.info("{} works again after {} failed attempt(s)", activity, failures);
    }
    failures = 0;
    lastError = "";
  }

  /** The exception's message and, when it says something else, its root cause's. */
  static String describe(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root == e) {
      return message;
    }
    String cause = root.getMessage() == null ? root.getClass().getSimpleName()
        : root.getClass().getSimpleName() + ": " + root.getMessage();
    return message.contains(cause) ? message : message + " (" + cause + ")";
  }

  private Duration delay() {
    Duration d = first;
    for (int i = 1; i < failures && d.compareTo(max) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(max) > 0 ? max : d;
  }
}
