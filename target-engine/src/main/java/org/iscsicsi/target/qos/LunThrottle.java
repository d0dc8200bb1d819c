package org.iscsicsi.target.qos;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Enforces one LUN's {@link QosLimits} on its READ and WRITE commands: each direction has a
 * token bucket ({@link Pacer}) of commands and one of bytes, and a command starts once both allow
 * it. A command that must wait is not slept on: it is scheduled on a {@link Timer} and then runs
 * as a deferred command (on an I/O thread), so no netty event loop is ever held.
 *
 * <p>Waiting is bounded. A command that would wait more than {@link #MAX_WAIT_NANOS}, or that
 * finds {@link #MAX_WAITING} commands already waiting, is refused (the SCSI layer answers TASK SET
 * FULL, which makes a Linux initiator retry and lower its queue depth). New limits apply at once,
 * to the commands already waiting too: each is taken off the timer and admitted again under them.
 *
 * <p>Without limits, {@link #submit} costs one volatile read.
 */
public final class LunThrottle {

  /** The longest a command may be held: well inside the 30 s a Linux initiator waits. */
  public static final long MAX_WAIT_NANOS = TimeUnit.SECONDS.toNanos(4);
  /** The most commands held at once per LUN. */
  public static final int MAX_WAITING = 1024;

  /** A command the throttle let through. */
  @FunctionalInterface
  public interface Admitted {
    /**
     * Runs the command; {@code deferred} is true when it waited and runs on the timer's thread,
     * which it must hand straight on (it may then not run inline I/O attempts).
     */
    void run(boolean deferred);
  }

  /** Totals since the LUN was opened, by direction (index 0 read, 1 write). */
  public record Stats(long[] delayedNanos, long[] delayedCommands, long[] refusedCommands,
      int waiting) {
  }

  private final LongSupplier clock;
  private final Timer timer;
  private final LongAdder[] delayedNanos = adders();
  private final LongAdder[] delayedCommands = adders();
  private final LongAdder[] refusedCommands = adders();
  private final Set<Waiting> waiting = new LinkedHashSet<>();
  private volatile Rules rules;
  private QosLimits limits = QosLimits.NONE;

  public LunThrottle() {
    this(System::nanoTime, Timer.SHARED);
  }

  /** With a clock ({@link System#nanoTime} semantics) and a timer, for tests. */
  public LunThrottle(LongSupplier clock, Timer timer) {
    this.clock = clock;
    this.timer = timer;
  }

  /** Whether any limit is set (the caller may skip {@link #submit} when not). */
  public boolean limited() {
    return rules != null;
  }

  public synchronized QosLimits limits() {
    return limits;
  }

  /**
   * Replaces the limits; commands waiting under the old ones are admitted again under the new
   * (they run at once when nothing limits them any more).
   */
  public void setLimits(QosLimits next) {
    Objects.requireNonNull(next, "limits");
    List<Runnable> now = new ArrayList<>();
    synchronized (this) {
      limits = next;
      rules = next.limited() ? new Rules(next) : null;
      List<Waiting> held = new ArrayList<>(waiting);
      waiting.clear();
      for (Waiting w : held) {
        if (!w.timer.cancel(false)) {
          waiting.add(w); // firing now: fire() waits for the lock and then runs it
          continue;
        }
        long t = clock.getAsLong();
        long wait = reserve(w.write, w.bytes, t);
        if (wait == 0) {
          counted(w, t);
          now.add(() -> w.command.run(true));
        } else if (wait > 0) {
          hold(w, wait);
        } else {
          now.add(w.refused);
        }
      }
    }
    now.forEach(Runnable::run);
  }

  /**
   * Runs {@code command} now when no limit holds it, later (on the timer) when one does, or
   * {@code refused} when it would wait too long.
   *
   * @param bytes the command's transfer length
   */
  public void submit(boolean write, int bytes, Admitted command, Runnable refused) {
    if (rules == null) {
      command.run(false);
      return;
    }
    long wait;
    synchronized (this) {
      long t = clock.getAsLong();
      wait = reserve(write, bytes, t);
      if (wait > 0) {
        hold(new Waiting(write, bytes, command, refused, t), wait);
      }
    }
    if (wait == 0) {
      command.run(false);
    } else if (wait < 0) {
      refused.run();
    }
  }

  public Stats stats() {
    int held;
    synchronized (this) {
      held = waiting.size();
    }
    return new Stats(sums(delayedNanos), sums(delayedCommands), sums(refusedCommands), held);
  }

  /**
   * Under the lock: takes a command's cost from the buckets and returns how long it must wait (0:
   * not at all), or -1, taking nothing, when it would wait too long or too many wait already.
   */
  private long reserve(boolean write, int bytes, long t) {
    Rules r = rules;
    if (r == null) {
      return 0;
    }
    long wait = r.delay(write, t);
    if (wait > MAX_WAIT_NANOS || wait > 0 && waiting.size() >= MAX_WAITING) {
      refusedCommands[write ? 1 : 0].increment();
      return -1;
    }
    r.take(write, t + wait, bytes);
    return wait;
  }

  /** Under the lock: puts {@code w} on the timer. */
  private void hold(Waiting w, long wait) {
    waiting.add(w);
    w.timer = timer.schedule(() -> fire(w), wait);
  }

  private void counted(Waiting w, long t) {
    int d = w.write ? 1 : 0;
    delayedNanos[d].add(t - w.since);
    delayedCommands[d].increment();
  }

  private void fire(Waiting w) {
    synchronized (this) {
      if (!waiting.remove(w)) {
        return; // admitted again under new limits
      }
      counted(w, clock.getAsLong());
    }
    w.command.run(true);
  }

  /** A command held back, with what to do when its turn comes or it is refused. */
  private static final class Waiting {
    final boolean write;
    final int bytes;
    final Admitted command;
    final Runnable refused;
    final long since;
    Future<?> timer;

    Waiting(boolean write, int bytes, Admitted command, Runnable refused, long since) {
      this.write = write;
      this.bytes = bytes;
      this.command = command;
      this.refused = refused;
      this.since = since;
    }
  }

  /** The buckets of one set of limits; a figure without a limit has none. */
  private static final class Rules {
    private final Pacer[] ops = new Pacer[2];
    private final Pacer[] bytes = new Pacer[2];

    Rules(QosLimits l) {
      long burst = TimeUnit.MILLISECONDS.toNanos(l.burstMillis());
      ops[0] = pacer(l.readIops(), burst);
      ops[1] = pacer(l.writeIops(), burst);
      bytes[0] = pacer(l.readBytesPerSecond(), burst);
      bytes[1] = pacer(l.writeBytesPerSecond(), burst);
    }

    private static Pacer pacer(long rate, long burstNanos) {
      return rate == 0 ? null : new Pacer(rate, burstNanos);
    }

    long delay(boolean write, long now) {
      int d = write ? 1 : 0;
      return Math.max(ops[d] == null ? 0 : ops[d].delay(now),
          bytes[d] == null ? 0 : bytes[d].delay(now));
    }

    void take(boolean write, long start, int cost) {
      int d = write ? 1 : 0;
      if (ops[d] != null) {
        ops[d].take(start, 1);
      }
      if (bytes[d] != null) {
        bytes[d].take(start, cost);
      }
    }
  }

  private static LongAdder[] adders() {
    return new LongAdder[] {new LongAdder(), new LongAdder()};
  }

  private static long[] sums(LongAdder[] a) {
    return new long[] {a[0].sum(), a[1].sum()};
  }
}
