package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.SpaceExhaustedException;
import org.iscsicsi.target.replication.EpochFence.Verdict;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.FrameChannel;
import org.iscsicsi.target.transfer.FrameType;
import org.iscsicsi.target.transfer.TransferException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's side of one replica stream (docs/replication.md section 3): the HELLO is checked by
 * the LUN's {@link EpochFence} (a newer epoch only after a fresh read confirms it and it is
 * persisted), then every frame is fenced again (so an epoch accepted meanwhile through the watch
 * refuses the deposed primary's next frame with STALE_EPOCH), WRITE and UNMAP frames are
 * applied concurrently on virtual threads through the same {@link LogicalUnit} calls the SCSI
 * layer uses (FUA forced before the ack) and acked when done, a FLUSH is acked once every write
 * received before it is applied and the LUN is on stable storage, and heartbeats are acked with
 * their id. REGION_HASHES and REGION_DATA of a rebuild ({@link RebuildSink}) are applied after
 * every frame received before them. Silence longer than {@link #MEMBER_SILENCE_LIMIT} ends the
 * stream.
 */
public final class ReplicaSession {

  private static final Logger log = LoggerFactory.getLogger(ReplicaSession.class);

  /** No frame from the primary for this long: the link is lost. */
  public static final Duration MEMBER_SILENCE_LIMIT = Duration.ofSeconds(2);
  static final Duration HELLO_TIMEOUT = Duration.ofSeconds(10);

  /** A replicated LUN held by this member. */
  public record MemberLun(LogicalUnit unit, EpochFence fence) {
  }

  /** Finds the member's LUN of a volume. */
  public interface Luns {
    Optional<MemberLun> find(String volume);
  }

  private final Luns luns;
  private final AtomicLong forcedWrites = new AtomicLong();
  private final AtomicLong applied = new AtomicLong();

  public ReplicaSession(Luns luns) {
    this.luns = luns;
  }

  /** Writes applied with FUA forced (for tests and metrics). */
  public long forcedWrites() {
    return forcedWrites.get();
  }

  /** Data frames applied. */
  public long applied() {
    return applied.get();
  }

  /** Serves one connection until it ends (a {@code ReplicationNetwork} handler). */
  public void serve(FrameChannel ch, String subject) {
    try (ExecutorService appliers = Executors.newVirtualThreadPerTaskExecutor()) {
      Frame first = ch.receiveReply(HELLO_TIMEOUT);
      if (first.type() != FrameType.HELLO) {
        nack(ch, 0, NackReason.PROTOCOL, 0, "expected HELLO, got " + first.type());
        return;
      }
      ReplicaHello hello;
      try {
        hello = ReplicaHello.decode(first.payload());
      } catch (IllegalArgumentException e) {
        nack(ch, 0, NackReason.PROTOCOL, 0, "malformed HELLO: " + e.getMessage());
        return;
      }
      Optional<MemberLun> lun = luns.find(hello.volume());
      if (lun.isEmpty()) {
        nack(ch, 0, NackReason.NOT_MEMBER, 0, "no replicated LUN of " + hello.volume());
        return;
      }
      EpochFence fence = lun.get().fence();
      LogicalUnit unit = lun.get().unit();
      long epoch = first.epoch();
      if (fence.hello(epoch, hello.primary()) instanceof Verdict.Refuse r) {
        nack(ch, 0, r.reason(), r.acceptedEpoch(), r.why());
        return;
      }
      ch.send(new Frame(FrameType.HELLO_ACK, 0, fence.accepted(), 0, 0, 0, null));
      log.info("{}: replica stream from {} at epoch {}", hello.volume(), hello.primary(), epoch);
      List<CompletableFuture<Void>> inFlight = new ArrayList<>();
      while (true) {
        Frame f = ch.receiveReply(MEMBER_SILENCE_LIMIT);
        if (f.epoch() != epoch) {
          nack(ch, f.seq(), NackReason.PROTOCOL, fence.accepted(), "frame of epoch " + f.epoch()
              + " on a stream of epoch " + epoch);
          return;
        }
        if (fence.frame(epoch, hello.primary()) instanceof Verdict.Refuse r) {
          nack(ch, f.seq(), r.reason(), r.acceptedEpoch(), r.why());
          if (r.reason().closes()) {
            return;
          }
          continue;
        }
        inFlight.removeIf(CompletableFuture::isDone);
        switch (f.type()) {
          case WRITE, UNMAP -> inFlight.add(CompletableFuture.runAsync(
              () -> apply(ch, unit, fence, f), appliers));
          case FLUSH -> {
            CompletableFuture<Void> before = CompletableFuture.allOf(
                inFlight.toArray(CompletableFuture[]::new));
            inFlight.add(before.thenRunAsync(() -> flush(ch, unit, fence, f), appliers));
          }
          case REGION_HASHES, REGION_DATA -> {
            // after every frame received before it: the primary sent those writes earlier
            CompletableFuture<Void> before = CompletableFuture.allOf(
                inFlight.toArray(CompletableFuture[]::new));
            inFlight.add(before.thenRunAsync(() -> rebuild(ch, unit, fence, f), appliers));
          }
          case HEARTBEAT -> {
            if (!fence.acking(epoch)) {
              nack(ch, 0, NackReason.STALE_EPOCH, fence.accepted(), "epoch " + epoch
                  + " is no longer the accepted one");
              return;
            }
            ch.sendAsync(new Frame(FrameType.ACK, 0, fence.accepted(), 0, 0, f.offset(), null),
                e -> { });
          }
          default -> {
            nack(ch, f.seq(), NackReason.PROTOCOL, fence.accepted(), "unexpected " + f.type());
            return;
          }
        }
      }
    } catch (TransferException e) {
      log.info("replica stream from {} ended: {}", ch.peer(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ch.close();
    }
  }

  private void apply(FrameChannel ch, LogicalUnit unit, EpochFence fence, Frame f) {
    try {
      if (f.type() == FrameType.WRITE) {
        if (f.offset() < 0 || f.offset() + f.payload().length > unit.sizeBytes()) {
          nack(ch, f.seq(), NackReason.OUT_OF_RANGE, fence.accepted(), "write beyond the LUN");
          return;
        }
        boolean force = (f.flags() & ReplicaLink.FLAG_FUA) != 0;
        unit.write(f.offset(), ByteBuffer.wrap(f.payload()), force);
        fence.recentWrites().add(f.offset(), f.payload().length, false);
        if (force) {
          forcedWrites.incrementAndGet();
        }
      } else {
        ByteBuffer pairs = ByteBuffer.wrap(f.payload());
        while (pairs.remaining() >= 2 * Long.BYTES) {
          long offset = pairs.getLong();
          long length = pairs.getLong();
          if (offset < 0 || length < 0 || offset + length > unit.sizeBytes()) {
            nack(ch, f.seq(), NackReason.OUT_OF_RANGE, fence.accepted(), "unmap beyond the LUN");
            return;
          }
          unit.unmap(offset, length);
          fence.recentWrites().add(offset, length, true);
        }
      }
      applied.incrementAndGet();
      ack(ch, fence, f);
    } catch (SpaceExhaustedException e) {
      nack(ch, f.seq(), NackReason.NO_SPACE, fence.accepted(), e.getMessage());
    } catch (IOException | RuntimeException e) {
      nack(ch, f.seq(), NackReason.IO_ERROR, fence.accepted(), e.toString());
    }
  }

  private void rebuild(FrameChannel ch, LogicalUnit unit, EpochFence fence, Frame f) {
    try {
      if (f.type() == FrameType.REGION_HASHES) {
        ch.sendAsync(new Frame(FrameType.REGION_WANT, 0, fence.accepted(), f.seq(), 0, 0,
            RebuildSink.want(unit, f.payload())), e -> log.debug("REGION_WANT to {} not sent: {}",
                ch.peer(), e.toString()));
      } else {
        byte[] written = RebuildSink.write(unit, f.offset(), f.payload());
        ch.sendAsync(new Frame(FrameType.ACK, 0, fence.accepted(), f.seq(), 0, f.offset(),
            written), e -> log.debug("ACK of seq {} to {} not sent: {}", f.seq(), ch.peer(),
                e.toString()));
      }
    } catch (IllegalArgumentException e) {
      nack(ch, f.seq(), NackReason.OUT_OF_RANGE, fence.accepted(), e.getMessage());
    } catch (SpaceExhaustedException e) {
      nack(ch, f.seq(), NackReason.NO_SPACE, fence.accepted(), e.getMessage());
    } catch (IOException | RuntimeException e) {
      nack(ch, f.seq(), NackReason.IO_ERROR, fence.accepted(), e.toString());
    }
  }

  private void flush(FrameChannel ch, LogicalUnit unit, EpochFence fence, Frame f) {
    try {
      unit.flush();
      ack(ch, fence, f);
    } catch (IOException | RuntimeException e) {
      nack(ch, f.seq(), NackReason.IO_ERROR, fence.accepted(), e.toString());
    }
  }

  private static void ack(FrameChannel ch, EpochFence fence, Frame f) {
    if (!fence.acking(f.epoch())) { // a newer epoch was accepted while it was applied
      nack(ch, f.seq(), NackReason.STALE_EPOCH, fence.accepted(), "epoch " + f.epoch()
          + " is no longer the accepted one");
      return;
    }
    ch.sendAsync(new Frame(FrameType.ACK, 0, fence.accepted(), f.seq(), 0, 0, null), e ->
        log.debug("ACK of seq {} to {} not sent: {}", f.seq(), ch.peer(), e.toString()));
  }

  private static void nack(FrameChannel ch, long seq, NackReason reason, long accepted,
      String why) {
    byte[] text = why.getBytes(StandardCharsets.UTF_8);
    if (text.length > Frame.MAX_CONTROL_BYTES) {
      text = java.util.Arrays.copyOf(text, Frame.MAX_CONTROL_BYTES);
    }
    log.info("NACK {} of seq {} to {}: {}", reason, seq, ch.peer(), why);
    Frame nack = new Frame(FrameType.NACK, 0, accepted, seq, 0, reason.code(), text);
    if (reason.closes()) {
      try {
        ch.send(nack);
      } catch (TransferException e) {
        log.debug("NACK to {} not sent: {}", ch.peer(), e.getMessage());
      }
      ch.close();
    } else {
      ch.sendAsync(nack, e -> { });
    }
  }
}
