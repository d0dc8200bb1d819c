package org.iscsicsi.e2e.cluster;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The cluster tests' one wait: awaitility polls a probe (null means "not yet") until it returns
 * a value. A probe that throws counts as "not yet" unless the caller calls the failure fatal (a
 * VM that ended, an I/O error in a pod), which ends the wait at once. Either way the failure
 * names what was awaited and carries the caller's diagnostics (events, the node's logs), and a
 * timeout carries the probe's last failure.
 */
final class ClusterWait {

  private ClusterWait() {}

  static <T> T until(String what, Duration atMost, Duration every, Callable<T> probe,
      Predicate<Throwable> fatal, Callable<String> diagnostics) {
    AtomicReference<Throwable> last = new AtomicReference<>();
    try {
      return Awaitility.await(what).atMost(atMost).pollDelay(Duration.ZERO).pollInterval(every)
          .until(() -> {
            try {
              return probe.call();
            } catch (Exception | AssertionError e) {
              if (fatal.test(e)) {
                throw new AssertionError(what + ": " + e.getMessage() + "\n"
                    + describe(diagnostics), e);
              }
              last.set(e);
              return null;
            }
          }, Objects::nonNull);
    } catch (ConditionTimeoutException e) {
      AssertionError err = new AssertionError("timed out after " + atMost + " waiting for "
          + what + "; " + describe(diagnostics));
      if (last.get() != null) {
        err.addSuppressed(last.get());
      }
      throw err;
    }
  }

  /** No failure is fatal: every one means "not yet". */
  static boolean never(Throwable t) {
    return false;
  }

  private static String describe(Callable<String> diagnostics) {
    try {
      return diagnostics.call();
    } catch (Exception e) {
      return "(diagnostics failed: " + e + ")";
    }
  }
}
