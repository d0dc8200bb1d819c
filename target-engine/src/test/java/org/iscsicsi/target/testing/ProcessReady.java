package org.iscsicsi.target.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waiting for a process under test (an engine, a controller, tgtd) to become ready: polls a
 * probe with awaitility, fails at once when the process exits and on timeout, either way with
 * the process's log, which says why.
 */
public final class ProcessReady {

  private static final Duration POLL = Duration.ofMillis(100);

  private ProcessReady() {
  }

  /** Waits up to {@code timeout} until {@code ready} holds. */
  public static void await(String what, Process process, Path log, Duration timeout,
      Callable<Boolean> ready) throws IOException {
    await(what, process, log, timeout, ready, Boolean::booleanValue);
  }

  /**
   * Waits up to {@code timeout} until {@code probe}'s value passes {@code ready}; returns that
   * value.
   *
   * @throws IOException naming {@code what} with the log when the process exits or time is up
   */
  public static <T> T await(String what, Process process, Path log, Duration timeout,
      Callable<T> probe, Predicate<? super T> ready) throws IOException {
    try {
      return org.awaitility.Awaitility.await(what).atMost(timeout).pollInterval(POLL)
          .until(() -> {
            if (!process.isAlive()) {
              throw new IOException(what + ": the process exited with " + process.exitValue()
                  + ":\n" + logOf(log));
            }
            return probe.call();
          }, ready);
    } catch (ConditionTimeoutException e) {
      throw new IOException(what + ": not within " + timeout + ":\n" + logOf(log), e);
    }
  }

  private static String logOf(Path log) throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log at " + log + ")";
  }
}
