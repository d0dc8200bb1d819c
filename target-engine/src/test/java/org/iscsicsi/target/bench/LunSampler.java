package org.iscsicsi.target.bench;

import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.LunStatistics;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;

/**
 * A LUN's I/O counters as the engine keeps them (target.v1 LunStatistics), read over the admin
 * API: rates over a window, and completions binned in time, for measuring what a limit lets
 * through whatever the client thinks it did.
 */
public final class LunSampler {

  /** Counter values at one instant. */
  public record Sample(long nanos, long readOps, long writeOps, long readBytes, long writeBytes) {
  }

  /** Per-second rates between two samples. */
  public record Rates(double readIops, double writeIops, double readBytesPerSecond,
      double writeBytesPerSecond) {
  }

  private final TargetAdminBlockingStub admin;
  private final String target;
  private final int lun;

  public LunSampler(TargetAdminBlockingStub admin, String target, int lun) {
    this.admin = admin;
    this.target = target;
    this.lun = lun;
  }

  public Sample sample() {
    LunStatistics s = admin.getTarget(GetTargetRequest.newBuilder().setName(target).build())
        .getLunsList().stream().filter(l -> l.getLun() == lun).findFirst()
        .orElseThrow(() -> new IllegalStateException("LUN " + lun + " of " + target + " is gone"))
        .getStatistics();
    return new Sample(System.nanoTime(), s.getReadOps(), s.getWriteOps(), s.getReadBytes(),
        s.getWriteBytes());
  }

  /** Rates over the next {@code millis}. */
  public Rates over(long millis) throws InterruptedException {
    Sample a = sample();
    Thread.sleep(millis);
    return between(a, sample());
  }

  public static Rates between(Sample a, Sample b) {
    double s = (b.nanos() - a.nanos()) / 1e9;
    return new Rates((b.readOps() - a.readOps()) / s, (b.writeOps() - a.writeOps()) / s,
        (b.readBytes() - a.readBytes()) / s, (b.writeBytes() - a.writeBytes()) / s);
  }

  /** Blocks until the LUN has served a READ or WRITE, or {@code millis} pass. */
  public boolean awaitTraffic(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    Sample first = sample();
    while (System.nanoTime() < deadline) {
      Sample s = sample();
      if (s.readOps() > first.readOps() || s.writeOps() > first.writeOps()) {
        return true;
      }
      Thread.sleep(20);
    }
    return false;
  }

  /** Samples every {@code everyMillis} for {@code count} times. */
  public List<Sample> series(long everyMillis, int count) throws InterruptedException {
    List<Sample> out = new ArrayList<>(count);
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      out.add(sample());
      next += everyMillis * 1_000_000;
      long sleep = (next - System.nanoTime()) / 1_000_000;
      if (sleep > 0) {
        Thread.sleep(sleep);
      }
    }
    return out;
  }
}
