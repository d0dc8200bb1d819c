package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipRefused;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.UnitIo;
import org.iscsicsi.target.lun.UnitNotReadyException;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.FrameType;
import org.iscsicsi.target.transfer.RegionMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's I/O contract for a replicated LUN (docs/replication.md section 2): a change
 * checks the serve lease (else NOT READY 04h/0Bh), locks its range, takes the next seq, starts
 * the local write and one frame per acking member (InSync and Joining) together, and returns
 * (GOOD) only when the local write is done and every one of them acked. A member that NACKs,
 * loses its link or does not ack within its link's ack timeout is first marked
 * OutOfSync in the IscsiVolume by compare-and-swap, and only then does the change return; if
 * that swap is refused because the epoch moved, this engine is no longer primary and the change
 * fails with NOT READY 04h/0Ch (dm-multipath retries it on the new primary). SYNCHRONIZE CACHE
 * and FUA follow the same rule with FLUSH frames and forced writes on every member.
 * {@link #writeInline} always declines: the wait for acks belongs on an I/O thread.
 */
public final class ReplicatedUnit implements UnitIo, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicatedUnit.class);

  public static final long HEARTBEAT_MILLIS = 500;
  /** The flush generation of a region no change was sent to (below every FLUSH's). */
  private static final long NEVER_WRITTEN = -1;

  private final String self;
  private final String volume;
  private final LogicalUnit local;
  private final MembershipWriter writer;
  private final ServeLease lease;
  private final Clock clock;
  private final Map<String, ReplicaLink> links = new ConcurrentHashMap<>();
  private final RangeLocks locks = new RangeLocks();
  /**
   * Held shared while a change sends its frames; exclusively to send a FLUSH (so every frame
   * sent before it has a lower flush generation), to start a join drain, and to start a
   * member's bitmap.
   */
  private final ReentrantReadWriteLock sending = new ReentrantReadWriteLock();
  /** Incremented by every FLUSH sent; a change records the value it was sent under. */
  private final AtomicLong flushGeneration = new AtomicLong();
  /**
   * Per region, the flush generation of the latest change sent to it; replaced by a longer one
   * (under the exclusive sending lock) when the LUN grows.
   */
  private volatile AtomicLongArray lastWrite;
  /** Per acking member, the generation of the latest FLUSH it acked. */
  private final Map<String, Long> flushed = new ConcurrentHashMap<>();
  /** Members this primary saw leave the in-sync set: what they may lack since. */
  private final Map<String, RegionBitmap> bitmaps = new ConcurrentHashMap<>();
  private final AtomicLong seq = new AtomicLong();
  private final AtomicLong heartbeatIds = new AtomicLong();
  private final ScheduledExecutorService heartbeats;
  private final long epoch;
  private volatile Membership membership;
  private volatile String deposed;

  /**
   * @param membership the membership read fresh, with this engine its primary
   * @param links an open link to every acking member
   */
  public ReplicatedUnit(String self, String volume, LogicalUnit local, MembershipWriter writer,
      Membership membership, Map<String, ReplicaLink> links, ServeLease lease, Clock clock) {
    if (!membership.primary().equals(self)) {
      throw new IllegalArgumentException(self + " is not the primary of " + volume);
    }
    this.self = self;
    this.volume = volume;
    this.local = local;
    this.writer = writer;
    this.lease = lease;
    this.clock = clock;
    this.epoch = membership.epoch();
    this.membership = membership;
    this.links.putAll(links);
    this.lastWrite = neverWritten(RegionMap.count(local.sizeBytes()), new AtomicLongArray(0));
    membership.ackingReplicas().forEach(m -> flushed.put(m, 0L));
    this.heartbeats = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("heartbeat-" + volume).factory());
    heartbeats.scheduleWithFixedDelay(this::heartbeat, 0, HEARTBEAT_MILLIS,
        TimeUnit.MILLISECONDS);
  }

  /** The membership as this primary last wrote or read it. */
  public Membership membership() {
    return membership;
  }

  public ServeLease lease() {
    return lease;
  }

  /** Whether the link to {@code member} is up. */
  public boolean linked(String member) {
    ReplicaLink link = links.get(member);
    return link != null && link.alive();
  }

  /** Why this engine stopped being primary, or null while it is. */
  public String deposed() {
    return deposed;
  }

  /**
   * This engine's Lease was renewed by a request sent at {@code sentNanos} (monotonic): while
   * this primary is the only in-sync member, that renewal is its serve lease (section 4), since
   * no member can be promoted without a forced promotion that waits the Lease out.
   */
  public void engineLeaseRenewed(long sentNanos) {
    if (deposed == null && membership.ackingReplicas().isEmpty()) {
      lease.renewedAlone(sentNanos);
    }
  }

  /**
   * A newer epoch was seen (the watch, a fresh read): this engine is no longer primary; every
   * command from now on, and every one waiting for acks, ends with NOT READY 04h/0Ch.
   */
  public void depose(String why) {
    if (deposed == null) {
      deposed = why;
      lease.revoke();
      log.warn("{}: no longer primary: {}", volume, why);
    }
  }

  /** The epoch this unit serves. */
  public long epoch() {
    return epoch;
  }

  /** Whether commands may be served now: still primary and the serve lease valid. */
  public boolean serving() {
    return deposed == null && lease.valid();
  }

  @Override
  public void write(long offset, ByteBuffer[] srcs, boolean force) throws IOException {
    requireServing();
    byte[] data = gather(srcs);
    try (RangeLocks.Range r = lockTracked(offset, Math.max(data.length, 1))) {
      long sent = System.nanoTime();
      List<Ack> acks = new ArrayList<>();
      for (int at = 0; at < data.length; at += Frame.REGION_BYTES) {
        int n = Math.min(Frame.REGION_BYTES, data.length - at);
        byte[] chunk = at == 0 && n == data.length ? data
            : java.util.Arrays.copyOfRange(data, at, at + n);
        acks.addAll(fanOut(FrameType.WRITE, force ? ReplicaLink.FLAG_FUA : 0, offset + at,
            chunk, n));
      }
      local.write(offset, srcs, force);
      settle(acks, sent, offset, data.length);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while replicating a write", e);
    }
  }

  /**
   * A promotion's reconcile (section 8, step 5): sends this engine's own bytes of a range to
   * every acking member (WRITE frames, or an UNMAP) under the range lock, before the lease
   * serves anything; a member that fails is taken out as for any write.
   */
  void reconcile(long offset, long length, boolean unmap) throws IOException {
    requireNotDeposed();
    try (RangeLocks.Range r = lockTracked(offset, Math.max(length, 1))) {
      long sent = System.nanoTime();
      List<Ack> acks = new ArrayList<>();
      if (unmap) {
        byte[] pair = ByteBuffer.allocate(2 * Long.BYTES).putLong(offset).putLong(length)
            .array();
        acks.addAll(fanOut(FrameType.UNMAP, 0, offset, pair, length));
      } else {
        for (long at = 0; at < length; at += Frame.REGION_BYTES) {
          int n = (int) Math.min(Frame.REGION_BYTES, length - at);
          ByteBuffer chunk = ByteBuffer.allocate(n);
          local.read(offset + at, chunk);
          acks.addAll(fanOut(FrameType.WRITE, 0, offset + at, chunk.array(), n));
        }
      }
      settle(acks, sent, offset, length);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reconciling", e);
    }
  }

  @Override
  public boolean writeInline(long offset, ByteBuffer... srcs) {
    return false;
  }

  @Override
  public void flush() throws IOException {
    requireServing();
    try {
      long sent = System.nanoTime();
      long generation;
      List<Ack> acks;
      sending.writeLock().lockInterruptibly();
      try {
        generation = flushGeneration.incrementAndGet();
        acks = fanOutLocked(FrameType.FLUSH, 0, 0, null, 0);
      } finally {
        sending.writeLock().unlock();
      }
      local.flush();
      for (Ack a : acks) {
        a.done().thenRun(() -> flushed.merge(a.member(), generation, Math::max));
      }
      settle(acks, sent, 0, 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while replicating a flush", e);
    }
  }

  @Override
  public void unmap(long offset, long length) throws IOException {
    requireServing();
    if (length == 0) {
      return;
    }
    try (RangeLocks.Range r = lockTracked(offset, length)) {
      long sent = System.nanoTime();
      byte[] pair = ByteBuffer.allocate(2 * Long.BYTES).putLong(offset).putLong(length).array();
      List<Ack> acks = fanOut(FrameType.UNMAP, 0, offset, pair, length);
      local.unmap(offset, length);
      settle(acks, sent, offset, length);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while replicating an unmap", e);
    }
  }

  /** One member's answer to a frame, and how long its link waits for it. */
  private record Ack(String member, CompletableFuture<Void> done, Duration timeout) {
  }

  /** Sends a change of {@code length} bytes at {@code offset} to every linked member. */
  private List<Ack> fanOut(FrameType type, int flags, long offset, byte[] payload, long length)
      throws InterruptedException {
    sending.readLock().lockInterruptibly();
    try {
      return fanOutLocked(type, flags, offset, payload, length);
    } finally {
      sending.readLock().unlock();
    }
  }

  private List<Ack> fanOutLocked(FrameType type, int flags, long offset, byte[] payload,
      long length) throws InterruptedException {
    long s = seq.incrementAndGet();
    List<Ack> acks = new ArrayList<>();
    List<String> acking = membership.ackingReplicas();
    if (length > 0) {
      recordChange(offset, length, acking);
    }
    for (Map.Entry<String, ReplicaLink> rebuilt : links.entrySet()) {
      if (!acking.contains(rebuilt.getKey())) {
        // a member being rebuilt gets every write; its ack is not waited for, and a refusal
        // ends its rebuild (the link closes, the rebuilder sees it)
        ReplicaLink link = rebuilt.getValue();
        link.send(type, flags, s, offset, payload).whenComplete((ok, e) -> {
          if (e != null) {
            link.close();
          }
        });
      }
    }
    for (String member : acking) {
      ReplicaLink link = links.get(member);
      Duration timeout = link == null ? ReplicaLink.ACK_TIMEOUT : link.ackTimeout();
      CompletableFuture<Void> done = link == null
          ? CompletableFuture.failedFuture(new ReplicaLink.LinkFailure(member
              + ": no link", null, 0))
          : link.send(type, flags, s, offset, payload);
      acks.add(new Ack(member, done, timeout));
    }
    return acks;
  }

  /**
   * Waits for every ack; each member that failed is taken out of the in-sync set in Kubernetes
   * before this returns. Renews the lease when every acking member acked.
   */
  private void settle(List<Ack> acks, long sentNanos, long offset, long length)
      throws IOException, InterruptedException {
    Map<String, String> failed = new LinkedHashMap<>();
    for (Ack a : acks) {
      try {
        a.done().get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        failed.put(a.member(), cause instanceof java.util.concurrent.TimeoutException
            ? "no ack within " + a.timeout() : String.valueOf(cause.getMessage()));
      }
    }
    if (failed.isEmpty()) {
      if (!acks.isEmpty()) {
        lease.ackedByAll(sentNanos);
      }
      return;
    }
    for (Map.Entry<String, String> f : failed.entrySet()) {
      takeOut(f.getKey(), f.getValue());
      RegionBitmap b = bitmaps.get(f.getKey());
      if (b != null && length > 0) {
        b.mark(offset, length); // a change it did not ack, whoever took it out
      }
    }
  }

  private static AtomicLongArray neverWritten(int regions, AtomicLongArray before) {
    AtomicLongArray after = new AtomicLongArray(regions);
    for (int r = 0; r < regions; r++) {
      after.set(r, r < before.length() ? before.get(r) : NEVER_WRITTEN);
    }
    return after;
  }

  /**
   * Extends the per-region records (flush generations, members' bitmaps) to the LUN's size
   * once it grew (ResizeLun, members before the primary): a write past the old end reaches
   * this unit only after the growth, so every change checks first.
   */
  private void trackSize() throws InterruptedException {
    long size = local.sizeBytes();
    int regions = RegionMap.count(size);
    if (regions <= lastWrite.length()) {
      return;
    }
    sending.writeLock().lockInterruptibly();
    try {
      if (regions > lastWrite.length()) {
        lastWrite = neverWritten(regions, lastWrite);
        bitmaps.values().forEach(b -> b.grow(size));
        log.info("{}: tracking {} regions after the LUN grew to {} bytes", volume, regions,
            size);
      }
    } finally {
      sending.writeLock().unlock();
    }
  }

  /**
   * Under the shared sending lock: the change's regions get this flush generation, and the
   * bitmap of every member that is out (not acking) marks them.
   */
  private void recordChange(long offset, long length, List<String> acking) {
    long generation = flushGeneration.get();
    int first = (int) (offset / Frame.REGION_BYTES);
    int last = (int) ((offset + length - 1) / Frame.REGION_BYTES);
    for (int r = first; r <= last; r++) {
      lastWrite.accumulateAndGet(r, generation, Math::max);
    }
    bitmaps.forEach((member, bitmap) -> {
      if (!acking.contains(member)) {
        bitmap.mark(offset, length);
      }
    });
  }

  /**
   * Starts the bitmap of a member that just left the in-sync set (its entry no longer acking):
   * every region changed since the latest FLUSH it acked, which it may lose on power loss or
   * never got. Under the exclusive lock, so every later change marks it as it is sent.
   */
  private void startBitmap(String member) throws InterruptedException {
    sending.writeLock().lockInterruptibly();
    try {
      // unknown since when (it joined under this primary but no FLUSH of it was counted yet,
      // or it was never acking here): every region
      Long since = flushed.remove(member);
      RegionBitmap b = bitmaps.computeIfAbsent(member, m -> new RegionBitmap(local.sizeBytes()));
      for (int r = 0; r < lastWrite.length(); r++) {
        if (since == null || lastWrite.get(r) >= since) {
          b.markRegion(r);
        }
      }
    } finally {
      sending.writeLock().unlock();
    }
  }

  /**
   * What {@code member} may lack, when this primary has tracked it since it left the in-sync
   * set; empty when it has not (it was out before this primary started): then only a
   * FullVerify rebuild is safe.
   */
  Optional<RegionBitmap> bitmap(String member) {
    return Optional.ofNullable(bitmaps.get(member));
  }

  /** After the join drain: the member is InSync again, its flushes counted from now. */
  void joined(String member, long drainGeneration) {
    flushed.merge(member, drainGeneration, Math::max);
    bitmaps.remove(member);
  }

  /** Marks {@code member} OutOfSync by compare-and-swap (once), closing its link. */
  private synchronized void takeOut(String member, String reason) throws IOException {
    requireNotDeposed();
    if (!membership.ackingReplicas().contains(member)) {
      return; // another change took it out already
    }
    try {
      // outOfSync checks the primacy first, so a moved epoch refuses even a member already out
      membership = writer.change(volume, m -> MembershipTransitions.outOfSync(m, self, epoch,
          member, reason, clock.instant())).membership();
      log.warn("{}: member {} taken out of the in-sync set: {}", volume, member, reason);
      startBitmapQuietly(member);
    } catch (MembershipRefused e) {
      switch (e.reason()) {
        case NOT_ALLOWED -> // still primary (checked first): the member is out already
            membership = writer.read(volume).map(ReplicatedVolume::membership).orElseThrow(
                () -> new IOException(volume + ": the IscsiVolume is gone"));
        case NOT_PRIMARY -> {
          deposed = e.getMessage();
          lease.revoke();
          throw UnitNotReadyException.unavailable(volume + ": no longer primary: "
              + e.getMessage());
        }
        default -> throw new IOException(volume + ": member " + member
            + " could not be taken out: " + e.getMessage(), e);
      }
    } catch (RuntimeException e) {
      // the API server cannot be written: nothing may be acknowledged without the member
      throw new IOException(volume + ": member " + member + " failed and the IscsiVolume "
          + "could not be written: " + e.getMessage(), e);
    }
    ReplicaLink link = links.remove(member);
    if (link != null) {
      link.close();
    }
  }

  private void heartbeat() {
    try {
      if (deposed != null) {
        return;
      }
      long id = heartbeatIds.incrementAndGet();
      long sent = System.nanoTime();
      List<Ack> acks = new ArrayList<>();
      List<String> acking = membership.ackingReplicas();
      links.forEach((member, link) -> {
        if (!acking.contains(member) && link.alive()) {
          link.heartbeat(id); // a rebuilt member: keeps its stream from falling silent
        }
      });
      for (String member : acking) {
        ReplicaLink link = links.get(member);
        if (link != null && link.alive()) {
          acks.add(new Ack(member, link.heartbeat(id), link.ackTimeout()));
        } else {
          // a lost link is taken out now, not at the next write: before the lease lapses
          Thread.ofVirtual().start(() -> takeOutQuietly(member, link == null ? "no link"
              : "link lost"));
        }
      }
      if (acks.size() == membership.ackingReplicas().size() && !acks.isEmpty()) {
        CompletableFuture.allOf(acks.stream().map(Ack::done)
            .toArray(CompletableFuture[]::new)).thenRun(() -> lease.ackedByAll(sent));
      }
    } catch (RuntimeException e) {
      log.warn("{}: heartbeat failed: {}", volume, e.toString());
    }
  }

  /** The next sequence number, for a rebuild's frames on a member's link. */
  long nextSeq() {
    return seq.incrementAndGet();
  }

  /** A change's range lock, taken once the records cover the LUN's current size. */
  private RangeLocks.Range lockTracked(long offset, long length) throws InterruptedException {
    trackSize();
    return locks.lock(offset, length);
  }

  /** Locks a range as writes do: a rebuild copies a region while no write to it runs. */
  RangeLocks.Range lock(long offset, long length) throws InterruptedException {
    return locks.lock(offset, length);
  }

  /**
   * Starts sending every change to {@code link}'s member, which is not acking (Rebuilding);
   * once a membership change makes it Joining its acks count for GOOD.
   */
  void attach(ReplicaLink link) {
    requireNotDeposedUnchecked();
    ReplicaLink before = links.put(link.member(), link);
    if (before != null && before != link) {
      before.close();
    }
  }

  /** Stops sending to {@code link}'s member and closes the link (a rebuild that failed). */
  void detach(ReplicaLink link) {
    links.remove(link.member(), link);
    link.close();
  }

  /**
   * A membership change as primary (a rebuild's transitions), by compare-and-swap; the result
   * is what later writes act on. A refusal because the epoch moved deposes this primary.
   */
  synchronized Membership change(java.util.function.UnaryOperator<Membership> transition)
      throws IOException {
    requireNotDeposed();
    try {
      List<String> before = membership.ackingReplicas();
      membership = writer.change(volume, transition).membership();
      for (String m : before) {
        if (!membership.ackingReplicas().contains(m)) {
          startBitmapQuietly(m); // a join that failed: what it may lack since
        }
      }
      return membership;
    } catch (MembershipRefused e) {
      if (e.reason() == MembershipRefused.Reason.NOT_PRIMARY) {
        deposed = e.getMessage();
        lease.revoke();
      }
      throw e;
    }
  }

  /**
   * The join drain's FLUSH to {@code link}'s member, sent once every change that started its
   * fan-out before now has sent its frames; the member acks it after all of them are applied
   * and on stable storage.
   */
  long drain(ReplicaLink link) throws InterruptedException, ExecutionException {
    CompletableFuture<Frame> acked;
    long generation;
    sending.writeLock().lockInterruptibly();
    try {
      generation = flushGeneration.incrementAndGet();
      acked = link.request(FrameType.FLUSH, 0, seq.incrementAndGet(), 0, null);
    } finally {
      sending.writeLock().unlock();
    }
    acked.get();
    return generation;
  }

  private void requireNotDeposedUnchecked() {
    if (deposed != null) {
      throw new IllegalStateException(volume + ": no longer primary: " + deposed);
    }
  }

  private void startBitmapQuietly(String member) {
    try {
      startBitmap(member);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // no bitmap: its rebuild will be a FullVerify
    }
  }

  private void takeOutQuietly(String member, String reason) {
    try {
      takeOut(member, reason);
    } catch (IOException e) {
      log.warn("{}: taking out {} failed: {}", volume, member, e.getMessage());
    }
  }

  private void requireServing() throws UnitNotReadyException {
    requireNotDeposed();
    if (!lease.valid()) {
      throw UnitNotReadyException.standby(volume + ": serve lease lapsed");
    }
  }

  private void requireNotDeposed() throws UnitNotReadyException {
    if (deposed != null) {
      throw UnitNotReadyException.unavailable(volume + ": no longer primary: " + deposed);
    }
  }

  private static byte[] gather(ByteBuffer[] srcs) {
    int total = 0;
    for (ByteBuffer b : srcs) {
      total += b.remaining();
    }
    byte[] out = new byte[total];
    int at = 0;
    for (ByteBuffer b : srcs) {
      int n = b.remaining();
      b.duplicate().get(out, at, n);
      at += n;
    }
    return out;
  }

  @Override
  public void close() {
    heartbeats.shutdownNow();
    links.values().forEach(ReplicaLink::close);
    links.clear();
  }
}
