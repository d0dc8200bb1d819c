package org.iscsicsi.target.qos;

import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** Runs a task after a delay, without holding any thread while it waits. */
@FunctionalInterface
public interface Timer {

  /**
   * One platform thread for every LUN of the process: it only hands the task on (to an I/O
   * executor, in {@link LunThrottle}'s use), so it is never busy for long.
   */
  Timer SHARED = new Timer() {
    private final ScheduledThreadPoolExecutor executor = executor();

    private static ScheduledThreadPoolExecutor executor() {
      ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1,
          Thread.ofPlatform().name("qos-timer").daemon().factory());
      e.setRemoveOnCancelPolicy(true);
      return e;
    }

    @Override
    public Future<?> schedule(Runnable task, long delayNanos) {
      return executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    }
  };

  /** Schedules {@code task}; cancelling the future before it runs keeps it from running. */
  Future<?> schedule(Runnable task, long delayNanos);
}
