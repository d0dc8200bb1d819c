package org.iscsicsi.target.qos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/** A clock and a {@link Timer} that move only when the test says so. */
final class FakeTimer implements Timer {

  private record Task(long due, Runnable run, CompletableFuture<Void> future) {
  }

  private final List<Task> tasks = new ArrayList<>();
  long now = 1_000_000_000L;

  long nanoTime() {
    return now;
  }

  @Override
  public synchronized Future<?> schedule(Runnable task, long delayNanos) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    tasks.add(new Task(now + delayNanos, task, f));
    return f;
  }

  /** Moves the clock on, running each task when its time comes, in order. */
  void advance(long nanos) {
    long end = now + nanos;
    while (true) {
      Task next;
      synchronized (this) {
        tasks.removeIf(t -> t.future().isCancelled());
        next = tasks.stream().filter(t -> t.due() <= end)
            .min(Comparator.comparingLong(Task::due)).orElse(null);
        if (next == null) {
          break;
        }
        tasks.remove(next);
        now = Math.max(now, next.due());
      }
      next.future().complete(null);
      next.run().run();
    }
    now = end;
  }

  synchronized int pending() {
    tasks.removeIf(t -> t.future().isCancelled());
    return tasks.size();
  }
}
