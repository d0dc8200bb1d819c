package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.Member;
import org.iscsicsi.target.kube.Membership.Rebuild;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipRefused;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.transfer.Bandwidth;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.FrameType;
import org.iscsicsi.target.transfer.RegionHashes;
import org.iscsicsi.target.transfer.RegionMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's rebuild of its members that are out of the in-sync set (docs/replication.md
 * section 10): a member that is OutOfSync or Fenced and answers a HELLO is marked Rebuilding
 * (compare-and-swap), receives every new write from then on (its acks not needed for GOOD), and
 * has regions compared and, where they differ, copied. Which regions: with the Bitmap method
 * those of the member's {@link RegionBitmap}, kept by this primary since it saw the member leave
 * (every change it did not get, and every one since the latest FLUSH it acked); with FullVerify,
 * used when this primary has no bitmap of the member (it was out before this primary started),
 * every region. Each region is compared under the
 * primary's range lock for the region, its SHA-256 goes to the member (REGION_HASHES), the member
 * asks for it if its own differs (REGION_WANT), and the region's bytes (REGION_DATA) are
 * answered with the SHA-256 of what the member wrote, compared with the source's (a mismatch is
 * retried {@link #MAX_TRIES} times). Then the member is Joining (its acks count for GOOD), the
 * join drain (a FLUSH sent after every change that began before join mode) is acked, and it is
 * InSync. Any failure (the link lost, a refusal, a mismatch) makes it OutOfSync again; the next
 * attempt starts again (the bitmap is cleared only at InSync). One member at a time per volume;
 * a worker thread tries every {@link #RETRY} while a member is out, doubling the wait after each
 * failed attempt (up to 16 s).
 *
 * <p>The bitmaps live in this primary's memory only (no activity log or on-disk bitmap yet): a
 * restarted or new primary rebuilds by FullVerify.
 */
public final class Rebuilder implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Rebuilder.class);

  public static final String FULL_VERIFY = "FullVerify";
  public static final String BITMAP = "Bitmap";
  static final Duration RETRY = Duration.ofSeconds(1);
  /** How often progress is written to the IscsiVolume while a rebuild runs. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);
  static final int MAX_TRIES = 3;
  /** Failed attempts double the wait before the next, up to 16 s (a returning member's wait). */
  static final int MAX_BACKOFF_DOUBLINGS = 4;

  private enum Attempt { IN_SYNC, FAILED, UNREACHABLE }

  /** Opens a replica link to a member at this primary's epoch. */
  public interface Dialer {
    ReplicaLink dial(String member, long epoch, long generation)
        throws ReplicaLink.LinkFailure, InterruptedException;
  }

  /**
   * A volume's rebuild figures for metrics: bytes left in the running rebuild (0 when none
   * runs) and REGION_DATA bytes sent by every rebuild so far.
   */
  public record Figures(String volume, long remainingBytes, long copiedBytes) {
  }

  /** A rebuild as it runs, or as it ended. */
  public record Progress(String member, String method, long doneBytes, long totalBytes,
      Instant startedAt, String outcome) {
  }

  private final String self;
  private final String volume;
  private final ReplicatedUnit unit;
  private final LogicalUnit local;
  private final Dialer dialer;
  private final Bandwidth bandwidth;
  private final Clock clock;
  private final AtomicLong copiedBytes = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final Thread worker;
  private volatile Progress progress;
  private volatile boolean closed;

  /**
   * @param bandwidth the engine's rebuild bandwidth (REGION_DATA bytes), or null for no limit
   */
  public Rebuilder(String self, String volume, ReplicatedUnit unit, LogicalUnit local,
      Dialer dialer, Bandwidth bandwidth, Clock clock) {
    this.self = self;
    this.volume = volume;
    this.unit = unit;
    this.local = local;
    this.dialer = dialer;
    this.bandwidth = bandwidth;
    this.clock = clock;
    this.worker = Thread.ofVirtual().name("rebuild-" + volume).unstarted(this::run);
  }

  /** Starts the worker. */
  public Rebuilder start() {
    worker.start();
    return this;
  }

  /** The running rebuild, or the last one and how it ended. */
  public Optional<Progress> progress() {
    return Optional.ofNullable(progress);
  }

  /** REGION_DATA bytes sent by every rebuild so far. */
  public long copiedBytes() {
    return copiedBytes.get();
  }

  public Figures figures() {
    Progress p = progress;
    long remaining = p == null || p.outcome() != null ? 0 : p.totalBytes() - p.doneBytes();
    return new Figures(volume, remaining, copiedBytes.get());
  }

  /** Rebuilds that ended InSync. */
  public long completed() {
    return completed.get();
  }

  private void run() {
    int failures = 0;
    while (!closed && unit.deposed() == null) {
      try {
        Optional<Member> out = candidate(unit.membership());
        if (out.isPresent()) {
          failures = switch (attempt(out.get())) {
            case FAILED -> failures + 1;
            case IN_SYNC -> 0;
            case UNREACHABLE -> failures;
          };
        }
        // a rebuild that keeps failing (no space, a flapping link) backs off: each attempt
        // writes the IscsiVolume twice
        Thread.sleep(RETRY.multipliedBy(1L << Math.min(failures, MAX_BACKOFF_DOUBLINGS)));
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("{}: rebuild loop: {}", volume, e.toString());
      }
    }
  }

  /** A member to rebuild: out of the in-sync set, or left Rebuilding or Joining by an end. */
  private Optional<Member> candidate(Membership m) {
    return m.members().stream().filter(x -> !x.engine().equals(self))
        .filter(x -> switch (x.state()) {
          case OutOfSync, Fenced, Rebuilding, Joining -> true;
          case InSync, Removed -> false;
        }).findFirst();
  }

  private Attempt attempt(Member member) throws InterruptedException {
    String name = member.engine();
    if (member.state() == State.Rebuilding || member.state() == State.Joining) {
      // no rebuild of this primary runs: one that ended without its last change
      outOfSync(name, "rebuild interrupted");
      return Attempt.FAILED;
    }
    ReplicaLink link;
    Membership m = unit.membership();
    try {
      link = dialer.dial(name, m.epoch(), m.generation());
    } catch (ReplicaLink.LinkFailure e) {
      log.debug("{}: {} not reachable for a rebuild: {}", volume, name, e.getMessage());
      return Attempt.UNREACHABLE;
    }
    long size = local.sizeBytes();
    Optional<RegionBitmap> bitmap = unit.bitmap(name);
    String method = bitmap.isPresent() ? BITMAP : FULL_VERIFY;
    // a Bitmap rebuild compares the regions marked now; later writes reach the member anyway
    List<Integer> regions = bitmap.map(RegionBitmap::regions).orElseGet(() -> IntStream.range(0,
        RegionMap.count(size)).boxed().toList());
    long total = regions.stream().mapToLong(r -> RegionMap.length(size, r)).sum();
    Instant started = clock.instant();
    progress = new Progress(name, method, 0, total, started, null);
    try {
      unit.change(x -> MembershipTransitions.rebuilding(x, self, unit.epoch(), name,
          rebuild(method, 0, total, started), clock.instant()));
      unit.attach(link);
      log.info("{}: rebuilding {} ({}, {} regions, {} bytes)", volume, name, method,
          regions.size(), total);
      long sent = copyAll(name, link, method, regions, size, total, started);
      unit.change(x -> MembershipTransitions.joining(x, self, unit.epoch(), name,
          clock.instant()));
      long drained = unit.drain(link);
      unit.change(x -> MembershipTransitions.joined(x, self, unit.epoch(), name,
          clock.instant()));
      unit.joined(name, drained);
      Duration took = Duration.between(started, clock.instant());
      progress = new Progress(name, method, total, total, started, "InSync after "
          + took.toMillis() + " ms, " + sent + " bytes copied");
      completed.incrementAndGet();
      log.info("{}: {} rebuilt ({}) and InSync in {} ms ({} of {} bytes copied)", volume, name,
          method, took.toMillis(), sent, total);
      return Attempt.IN_SYNC;
    } catch (IOException | ReplicaLink.LinkFailure | ExecutionException | RebuildMismatch
        | RuntimeException e) { // RuntimeException: a refused change, the API server
      String why = "rebuild failed: " + message(e);
      Progress p = progress;
      progress = new Progress(name, method, p.doneBytes(), total, started, why);
      log.warn("{}: rebuild of {} failed: {}", volume, name, message(e));
      outOfSync(name, why);
      unit.detach(link);
      return Attempt.FAILED;
    }
  }

  /** Compares and copies every region; returns the REGION_DATA bytes sent. */
  private long copyAll(String name, ReplicaLink link, String method, List<Integer> regions,
      long size, long total, Instant started) throws InterruptedException, ExecutionException,
      ReplicaLink.LinkFailure, RebuildMismatch, IOException {
    long sent = 0;
    long done = 0;
    long nextReport = System.nanoTime() + PROGRESS_EVERY.toNanos();
    for (int r : regions) {
      if (closed) {
        break;
      }
      if (!link.alive()) {
        throw new ReplicaLink.LinkFailure(name + ": link lost during the rebuild", null, 0);
      }
      int length = RegionMap.length(size, r);
      sent += copy(link, r, length);
      done += length;
      progress = new Progress(name, method, done, total, started, null);
      if (System.nanoTime() >= nextReport) {
        nextReport = System.nanoTime() + PROGRESS_EVERY.toNanos();
        long reported = done;
        unit.change(x -> MembershipTransitions.rebuildProgress(x, self, unit.epoch(), name,
            rebuild(method, reported, total, started)));
      }
    }
    if (closed) {
      throw new IOException("the engine is stopping");
    }
    return sent;
  }

  /** One region under the range lock: hashes compared, bytes copied if they differ. */
  private long copy(ReplicaLink link, int region, int length) throws InterruptedException,
      ExecutionException, RebuildMismatch, IOException {
    long offset = (long) region * Frame.REGION_BYTES;
    try (RangeLocks.Range locked = unit.lock(offset, length)) {
      ByteBuffer data = ByteBuffer.allocate(length);
      local.read(offset, data);
      data.flip();
      byte[] hash = RegionHashes.of(data);
      byte[] entry = ByteBuffer.allocate(Frame.HASH_ENTRY_BYTES).putInt(region).put(hash)
          .array();
      Frame want = link.request(FrameType.REGION_HASHES, 0, unit.nextSeq(), 0, entry).get();
      if (want.payload().length == 0) {
        return 0; // equal already
      }
      for (int tries = 1; ; tries++) {
        if (bandwidth != null) {
          bandwidth.acquire(length);
        }
        Frame ack = link.request(FrameType.REGION_DATA, 0, unit.nextSeq(), offset,
            data.array()).get();
        copiedBytes.addAndGet(length);
        if (Arrays.equals(ack.payload(), hash)) {
          return (long) length * tries;
        }
        if (tries == MAX_TRIES) {
          throw new RebuildMismatch(link.member() + " wrote region " + region
              + " differently " + MAX_TRIES + " times");
        }
      }
    }
  }

  private static Rebuild rebuild(String method, long done, long total, Instant started) {
    return new Rebuild(method, done, total, started.toString());
  }

  private void outOfSync(String name, String why) {
    try {
      unit.change(x -> MembershipTransitions.outOfSync(x, self, unit.epoch(), name, why,
          clock.instant()));
    } catch (MembershipRefused e) {
      log.debug("{}: {} not marked OutOfSync: {}", volume, name, e.getMessage());
    } catch (IOException | RuntimeException e) {
      log.warn("{}: {} could not be marked OutOfSync: {}", volume, name, e.toString());
    }
  }

  private static String message(Throwable e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return cause.getMessage() == null ? cause.toString() : cause.getMessage();
  }

  /** The member's copy of a region stays different from the source's. */
  static final class RebuildMismatch extends Exception {
    RebuildMismatch(String message) {
      super(message);
    }
  }

  @Override
  public void close() {
    closed = true;
    worker.interrupt();
  }
}
