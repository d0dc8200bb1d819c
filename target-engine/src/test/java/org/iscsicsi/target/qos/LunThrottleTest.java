package org.iscsicsi.target.qos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The per-LUN limiter on a fake clock: rates, bursts, bounds, live changes and statistics. */
class LunThrottleTest {

  static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
  static final long S = TimeUnit.SECONDS.toNanos(1);

  final FakeTimer timer = new FakeTimer();
  final LunThrottle throttle = new LunThrottle(timer::nanoTime, timer);
  /** Fake-clock times at which commands ran, and whether they ran deferred. */
  final List<Long> ran = new ArrayList<>();
  final List<Boolean> deferred = new ArrayList<>();
  int refused;

  void submit(boolean write, int bytes) {
    throttle.submit(write, bytes, d -> {
      ran.add(timer.now);
      deferred.add(d);
    }, () -> refused++);
  }

  static QosLimits iops(long read, long write, long burstMillis) {
    return new QosLimits(read, write, 0, 0, burstMillis);
  }

  /** Without limits a command runs at once on the caller's thread and nothing is scheduled. */
  @Test
  void unlimitedRunsInline() {
    assertThat(throttle.limited()).isFalse();
    submit(false, 4096);
    assertThat(ran).containsExactly(timer.now);
    assertThat(deferred).containsExactly(false);
    assertThat(timer.pending()).isZero();
  }

  /** With burst 0, commands are paced at exactly the rate: 100 IOPS, one every 10 ms. */
  @Test
  void pacesCommandsAtTheRate() {
    throttle.setLimits(iops(100, 0, 0));
    long start = timer.now;
    for (int i = 0; i < 50; i++) {
      submit(false, 4096);
    }
    timer.advance(S);
    assertThat(ran).hasSize(50);
    for (int i = 0; i < 50; i++) {
      assertThat(ran.get(i) - start).isEqualTo(i * 10 * MS);
    }
    assertThat(deferred.getFirst()).isFalse();
    assertThat(deferred.subList(1, 50)).containsOnly(true);
  }

  /** Over a long window no more than the rate passes, however many commands are offered. */
  @Test
  void holdsTheRateOverAWindow() {
    throttle.setLimits(iops(200, 0, 0));
    long start = timer.now;
    int offered = 0;
    // a closed loop of 32 outstanding commands, as an initiator with queue depth 32
    for (int i = 0; i < 32; i++, offered++) {
      submit(false, 4096);
    }
    while (timer.now - start < 10 * S) {
      int before = ran.size();
      timer.advance(MS);
      for (int i = before; i < ran.size(); i++, offered++) {
        submit(false, 4096);
      }
    }
    long inWindow = ran.stream().filter(t -> t - start < 10 * S).count();
    assertThat(inWindow).isBetween(2000L, 2001L);
    assertThat(refused).isZero();
  }

  /** An idle bucket lets rate x burst pass at once, then paces. */
  @Test
  void burstPassesAtOnceAfterIdle() {
    throttle.setLimits(iops(100, 0, 500)); // 50 commands of burst
    timer.advance(S);
    for (int i = 0; i < 60; i++) {
      submit(false, 512);
    }
    assertThat(ran).hasSize(51); // the burst, plus the one the schedule reaches now
    timer.advance(100 * MS);
    assertThat(ran).hasSize(60);
  }

  /** Bytes are limited on their own: 1 MiB/s passes 16 commands of 64 KiB per second. */
  @Test
  void limitsBytes() {
    throttle.setLimits(new QosLimits(0, 0, 1 << 20, 0, 0));
    long start = timer.now;
    for (int i = 0; i < 40; i++) {
      submit(false, 64 << 10);
    }
    timer.advance(S - 1);
    assertThat(ran).hasSize(16);
    assertThat(ran.get(15) - start).isEqualTo(15 * S / 16);
  }

  /** The read and write buckets are separate: a saturated write limit does not hold reads. */
  @Test
  void directionsAreIndependent() {
    throttle.setLimits(iops(0, 10, 0));
    for (int i = 0; i < 5; i++) {
      submit(true, 4096);
    }
    submit(false, 4096);
    assertThat(ran).hasSize(2); // the first write and the read
    assertThat(deferred).containsExactly(false, false);
  }

  /** Both buckets of a direction apply: the stricter one decides. */
  @Test
  void stricterOfIopsAndBytesDecides() {
    throttle.setLimits(new QosLimits(1000, 0, 1 << 20, 0, 0)); // 1 MiB/s allows 16 x 64 KiB
    long start = timer.now;
    for (int i = 0; i < 3; i++) {
      submit(false, 64 << 10);
    }
    timer.advance(S);
    assertThat(ran.get(2) - start).isEqualTo(2 * S / 16);
  }

  /** A command that would wait beyond the bound is refused and takes nothing from the bucket. */
  @Test
  void refusesBeyondTheLongestWait() {
    throttle.setLimits(iops(1, 0, 0)); // one per second: the sixth would wait 5 s
    for (int i = 0; i < 6; i++) {
      submit(false, 512);
    }
    assertThat(refused).isEqualTo(1);
    assertThat(throttle.stats().refusedCommands()[0]).isEqualTo(1);
    assertThat(throttle.stats().waiting()).isEqualTo(4);
    timer.advance(5 * S);
    assertThat(ran).hasSize(5);
  }

  /** No more than MAX_WAITING commands wait at once per LUN. */
  @Test
  void boundsTheCommandsWaiting() {
    throttle.setLimits(iops(1_000_000, 0, 0)); // 1 µs each: waits stay far below the bound
    for (int i = 0; i < LunThrottle.MAX_WAITING + 10; i++) {
      submit(false, 512);
    }
    assertThat(throttle.stats().waiting()).isEqualTo(LunThrottle.MAX_WAITING);
    assertThat(refused).isEqualTo(9); // the first ran at once
  }

  /** Lifting the limits releases every waiting command at once, as deferred commands. */
  @Test
  void liftingLimitsReleasesWaitingCommands() {
    throttle.setLimits(iops(2, 0, 0));
    for (int i = 0; i < 5; i++) {
      submit(false, 512);
    }
    assertThat(ran).hasSize(1);
    timer.advance(100 * MS);
    throttle.setLimits(QosLimits.NONE);
    assertThat(ran).hasSize(5);
    assertThat(deferred.subList(1, 5)).containsOnly(true);
    assertThat(timer.pending()).isZero();
    assertThat(throttle.limited()).isFalse();
    LunThrottle.Stats s = throttle.stats();
    assertThat(s.delayedCommands()[0]).isEqualTo(4);
    assertThat(s.delayedNanos()[0]).isEqualTo(4 * 100 * MS);
  }

  /** Raising a limit re-admits waiting commands under the new rate, not the old one. */
  @Test
  void raisingALimitAppliesToWaitingCommands() {
    throttle.setLimits(iops(1, 0, 0));
    for (int i = 0; i < 4; i++) {
      submit(false, 512);
    }
    long change = timer.now;
    throttle.setLimits(iops(100, 0, 0));
    timer.advance(S);
    assertThat(ran).hasSize(4);
    assertThat(ran.get(3) - change).isLessThanOrEqualTo(20 * MS);
  }

  /** Lowering a limit holds the next commands to the new rate. */
  @Test
  void loweringALimitHoldsTheNextCommands() {
    throttle.setLimits(iops(1000, 0, 0));
    submit(false, 512);
    throttle.setLimits(iops(10, 0, 0));
    long change = timer.now;
    for (int i = 0; i < 3; i++) {
      submit(false, 512);
    }
    timer.advance(S);
    assertThat(ran.get(3) - change).isEqualTo(200 * MS);
  }

  /** Time held is summed per direction, counting only commands that waited. */
  @Test
  void countsTimeHeld() {
    throttle.setLimits(iops(0, 10, 0));
    submit(true, 512);
    submit(true, 512);
    submit(true, 512);
    timer.advance(S);
    LunThrottle.Stats s = throttle.stats();
    assertThat(s.delayedCommands()).containsExactly(0, 2);
    assertThat(s.delayedNanos()).containsExactly(0, 100 * MS + 200 * MS);
  }
}
