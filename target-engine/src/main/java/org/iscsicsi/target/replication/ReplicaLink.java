package org.iscsicsi.target.replication;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.FrameChannel;
import org.iscsicsi.target.transfer.FrameType;
import org.iscsicsi.target.transfer.ReplicationNetwork;
import org.iscsicsi.target.transfer.TransferException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's connection to one member for one volume (docs/replication.md sections 2-3): it
 * dials, says HELLO at its epoch, then pipelines frames, each answered by the member's ACK or
 * NACK matched by seq, with at most {@link #WINDOW_BYTES} unacked (beyond it, senders wait). An
 * ack not back within its ack timeout ({@link #ACK_TIMEOUT} unless the opener gives another), a
 * NACK, a closed connection or
 * {@link ReplicaSession#MEMBER_SILENCE_LIMIT} of silence fails the frame's future with a
 * {@link LinkFailure}; after the connection is lost every later frame fails at once.
 */
public final class ReplicaLink implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicaLink.class);

  public static final int FLAG_FUA = 0x0001;
  public static final Duration ACK_TIMEOUT = Duration.ofSeconds(4);
  public static final int WINDOW_BYTES = 32 << 20;
  static final Duration DIAL_TIMEOUT = Duration.ofSeconds(5);

  /** Why a frame was not acked: the member's refusal (with its epoch) or the link's loss. */
  public static final class LinkFailure extends Exception {
    private final NackReason reason;
    private final long memberEpoch;

    LinkFailure(String message, NackReason reason, long memberEpoch) {
      super(message);
      this.reason = reason;
      this.memberEpoch = memberEpoch;
    }

    /** The member's NACK reason, or null when the link failed. */
    public NackReason reason() {
      return reason;
    }

    public long memberEpoch() {
      return memberEpoch;
    }
  }

  private record Pending(CompletableFuture<Frame> done, int bytes) {
  }

  private final String member;
  private final long epoch;
  private final FrameChannel ch;
  private final Duration ackTimeout;
  private final Semaphore window = new Semaphore(WINDOW_BYTES);
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final Map<Long, CompletableFuture<Void>> heartbeats = new ConcurrentHashMap<>();
  private volatile LinkFailure lost;
  private final Thread reader;

  private ReplicaLink(String member, long epoch, FrameChannel ch, Duration ackTimeout) {
    this.member = member;
    this.epoch = epoch;
    this.ch = ch;
    this.ackTimeout = ackTimeout;
    this.reader = Thread.ofVirtual().name("replica-link-" + member).start(this::read);
  }

  /**
   * Dials {@code member} at {@code where} and says HELLO at {@code epoch}; returns once it
   * answered HELLO_ACK.
   *
   * @throws LinkFailure when it refused (with its reason and epoch) or could not be reached
   */
  public static ReplicaLink open(ReplicationNetwork network, String member, HostPort where,
      long epoch, ReplicaHello hello) throws LinkFailure, InterruptedException {
    return open(network, member, where, epoch, hello, ACK_TIMEOUT);
  }

  /**
   * As {@link #open(ReplicationNetwork, String, HostPort, long, ReplicaHello)}, with the time a
   * frame or heartbeat may wait for its ack before the member counts as failed.
   */
  public static ReplicaLink open(ReplicationNetwork network, String member, HostPort where,
      long epoch, ReplicaHello hello, Duration ackTimeout)
      throws LinkFailure, InterruptedException {
    if (ackTimeout.isNegative() || ackTimeout.isZero()) {
      throw new IllegalArgumentException("ack timeout must be positive: " + ackTimeout);
    }
    FrameChannel ch;
    try {
      ch = network.dial(where, DIAL_TIMEOUT);
    } catch (TransferException e) {
      throw new LinkFailure(member + ": " + e.getMessage(), null, 0);
    }
    try {
      ch.send(new Frame(FrameType.HELLO, 0, epoch, 0, 0, 0, hello.encode()));
      Frame answer = ch.receiveReply(ReplicaSession.HELLO_TIMEOUT);
      if (answer.type() == FrameType.NACK) {
        ch.close();
        throw refusal(member, answer);
      }
      if (answer.type() != FrameType.HELLO_ACK) {
        ch.close();
        throw new LinkFailure(member + " answered HELLO with " + answer.type(),
            NackReason.PROTOCOL, 0);
      }
    } catch (TransferException e) {
      ch.close();
      throw new LinkFailure(member + ": " + e.getMessage(), null, 0);
    }
    return new ReplicaLink(member, epoch, ch, ackTimeout);
  }

  public String member() {
    return member;
  }

  /** How long a frame or heartbeat waits for its ack before the member counts as failed. */
  public Duration ackTimeout() {
    return ackTimeout;
  }

  /** Whether the connection is still usable. */
  public boolean alive() {
    return lost == null && ch.isOpen();
  }

  /**
   * Sends a data or FLUSH frame of this link's epoch; the future completes at the member's ACK
   * and fails with a {@link LinkFailure}. Waits (never fails) while the window is full.
   */
  public CompletableFuture<Void> send(FrameType type, int flags, long seq, long offset,
      byte[] payload) throws InterruptedException {
    return request(type, flags, seq, offset, payload).thenApply(answer -> null);
  }

  /**
   * As {@link #send}, completing with the member's answer: the ACK (of a REGION_DATA it carries
   * the SHA-256 of what the member wrote) or, for REGION_HASHES, the REGION_WANT.
   */
  public CompletableFuture<Frame> request(FrameType type, int flags, long seq, long offset,
      byte[] payload) throws InterruptedException {
    CompletableFuture<Frame> done = new CompletableFuture<>();
    LinkFailure gone = lost;
    if (gone != null) {
      done.completeExceptionally(gone);
      return done;
    }
    int bytes = Math.max(payload == null ? 0 : payload.length, 1);
    if (!window.tryAcquire(bytes, ackTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
      done.completeExceptionally(new LinkFailure(member + ": window full for " + ackTimeout,
          null, 0));
      return done;
    }
    pending.put(seq, new Pending(done, bytes));
    done.whenComplete((ok, e) -> {
      if (pending.remove(seq) != null) {
        window.release(bytes);
      }
    });
    done.orTimeout(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
    ch.sendAsync(new Frame(type, flags, epoch, seq, 0, offset, payload),
        e -> fail(new LinkFailure(member + ": sending failed: " + e, null, 0)));
    return done;
  }

  /** A heartbeat with {@code id}; the future completes at its ack. */
  public CompletableFuture<Void> heartbeat(long id) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    LinkFailure gone = lost;
    if (gone != null) {
      done.completeExceptionally(gone);
      return done;
    }
    heartbeats.put(id, done);
    done.whenComplete((ok, e) -> heartbeats.remove(id));
    done.orTimeout(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
    ch.sendAsync(new Frame(FrameType.HEARTBEAT, 0, epoch, 0, 0, id, null),
        e -> fail(new LinkFailure(member + ": sending failed: " + e, null, 0)));
    return done;
  }

  private void read() {
    try {
      while (lost == null) {
        Frame f = ch.receiveReply(ReplicaSession.MEMBER_SILENCE_LIMIT);
        switch (f.type()) {
          case ACK -> {
            if (f.seq() == 0) {
              CompletableFuture<Void> hb = heartbeats.get(f.offset());
              if (hb != null) {
                hb.complete(null);
              }
            } else {
              Pending p = pending.get(f.seq());
              if (p != null) {
                p.done().complete(f);
              }
            }
          }
          case REGION_WANT -> {
            Pending p = pending.get(f.seq());
            if (p != null) {
              p.done().complete(f);
            }
          }
          case NACK -> {
            LinkFailure refusal = refusal(member, f);
            Pending p = pending.get(f.seq());
            if (refusal.reason().closes()) {
              fail(refusal);
            } else if (p != null) {
              p.done().completeExceptionally(refusal);
            }
          }
          default -> fail(new LinkFailure(member + " sent " + f.type() + " on a replica stream",
              NackReason.PROTOCOL, 0));
        }
      }
    } catch (TransferException e) {
      fail(new LinkFailure(member + ": " + e.getMessage(), null, 0));
    } catch (InterruptedException e) {
      fail(new LinkFailure(member + ": link closed", null, 0));
    }
  }

  private static LinkFailure refusal(String member, Frame nack) {
    NackReason reason;
    try {
      reason = NackReason.of((int) nack.offset());
    } catch (IllegalArgumentException e) {
      reason = NackReason.PROTOCOL;
    }
    return new LinkFailure(member + " refused (" + reason + ", its epoch " + nack.epoch()
        + "): " + new String(nack.payload(), StandardCharsets.UTF_8), reason, nack.epoch());
  }

  private void fail(LinkFailure why) {
    if (lost == null) {
      lost = why;
      log.info("replica link to {} lost: {}", member, why.getMessage());
    }
    pending.values().forEach(p -> p.done().completeExceptionally(why));
    heartbeats.values().forEach(h -> h.completeExceptionally(why));
    ch.close();
  }

  @Override
  public void close() {
    fail(new LinkFailure(member + ": link closed", null, 0));
    reader.interrupt();
  }
}
