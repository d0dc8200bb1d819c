package org.iscsicsi.target.replication;

import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;
import org.iscsicsi.target.kube.Membership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's epoch rules for one replicated LUN (docs/replication.md, section 3): for a frame of
 * epoch E against the accepted epoch A kept in the metadata superblock, {@code E < A} is refused
 * (STALE_EPOCH, carrying A); {@code E == A} is applied only from the primary recorded with A;
 * {@code E > A} only a HELLO may bring, and only after a fresh read of the IscsiVolume shows
 * epoch E, the HELLO's sender as primary and this engine listed, and after A = E and that
 * primary are written to the superblock and {@code fdatasync}ed. So nothing from the primary of
 * an older epoch is applied once a newer one was accepted, and an epoch is on disk before the
 * first frame of it is applied (the caller applies a frame only on {@link Verdict.Apply}).
 *
 * <p>The verdicts are serialized: while a newer epoch is being confirmed and persisted, frames
 * of the older one wait and are then refused.
 */
public final class EpochFence {

  private static final Logger log = LoggerFactory.getLogger(EpochFence.class);

  /** What to do with a frame. */
  public sealed interface Verdict {
    /** Apply it. */
    record Apply() implements Verdict {
    }

    /** NACK it with {@code reason} and this member's accepted epoch. */
    record Refuse(NackReason reason, long acceptedEpoch, String why) implements Verdict {
    }
  }

  private static final Verdict APPLY = new Verdict.Apply();

  private final String self;
  private final String volume;
  private final MetadataFile metadata;
  private final Supplier<Optional<Membership>> fresh;
  /**
   * Monotonic time of the latest ack this member sent (or may have sent) in its accepted
   * epoch; starts at construction, since acks of an earlier process are all older. A promoted
   * member waits from it for the old primary's serve lease (section 4).
   */
  private long lastAckNanos = System.nanoTime();
  /** Monotonic time of the latest frame applied from the accepted primary, 0 before any. */
  private long lastFrameNanos;
  private final RecentWrites recent = new RecentWrites();

  /**
   * @param fresh reads the volume's membership from the API server (a GET, never a cache);
   *     empty when the object or its membership is gone
   */
  public EpochFence(String self, String volume, MetadataFile metadata,
      Supplier<Optional<Membership>> fresh) {
    this.self = self;
    this.volume = volume;
    this.metadata = metadata;
    this.fresh = fresh;
  }

  /** The highest epoch accepted, as the superblock holds it. */
  public synchronized long accepted() {
    return metadata.superblock().acceptedEpoch();
  }

  /** The primary recorded with the accepted epoch. */
  public synchronized String acceptedPrimary() {
    return metadata.superblock().acceptedPrimary();
  }

  /** A HELLO of {@code epoch} from {@code sender}: the only frame that may raise the epoch. */
  public synchronized Verdict hello(long epoch, String sender) {
    Superblock sb = metadata.superblock();
    long a = sb.acceptedEpoch();
    if (epoch <= a) {
      return sameOrOlder(epoch, sender, sb);
    }
    Optional<Membership> read;
    try {
      read = fresh.get();
    } catch (RuntimeException e) {
      return refuse(NackReason.NOT_MEMBER, a, "the IscsiVolume could not be read to confirm "
          + "epoch " + epoch + ": " + e.getMessage());
    }
    if (read.isEmpty()) {
      return refuse(NackReason.NOT_MEMBER, a, "no membership for " + volume);
    }
    Membership m = read.get();
    if (m.epoch() > epoch) {
      return refuse(NackReason.STALE_EPOCH, a, "the volume is at epoch " + m.epoch()
          + " already");
    }
    if (m.epoch() != epoch || !m.primary().equals(sender) || m.member(self).isEmpty()) {
      return refuse(NackReason.NOT_MEMBER, a, "the volume says epoch " + m.epoch()
          + " primary " + m.primary() + (m.member(self).isEmpty() ? ", " + self
          + " not listed" : "") + "; the HELLO says epoch " + epoch + " from " + sender);
    }
    try {
      metadata.write(sb.accepting(epoch, sender, self));
    } catch (IOException e) {
      return refuse(NackReason.IO_ERROR, a, "the accepted epoch could not be persisted: "
          + e.getMessage());
    }
    log.info("{}: accepted epoch {} (primary {}), was {}", volume, epoch, sender, a);
    lastFrameNanos = System.nanoTime();
    return APPLY;
  }

  /** A data or control frame of {@code epoch} from {@code sender}: never raises the epoch. */
  public synchronized Verdict frame(long epoch, String sender) {
    Superblock sb = metadata.superblock();
    if (epoch > sb.acceptedEpoch()) {
      return refuse(NackReason.PROTOCOL, sb.acceptedEpoch(), "epoch " + epoch
          + " was never accepted through a HELLO");
    }
    Verdict v = sameOrOlder(epoch, sender, sb);
    if (v == APPLY) {
      lastFrameNanos = System.nanoTime();
    }
    return v;
  }

  /**
   * Whether a frame of {@code epoch} may be acked now: only while {@code epoch} is still the
   * accepted one, so once a newer epoch is accepted no ack reaches the deposed primary and
   * {@link #lastAckNanos} is final for it. Records the ack's time.
   */
  public synchronized boolean acking(long epoch) {
    if (epoch != metadata.superblock().acceptedEpoch()) {
      return false;
    }
    lastAckNanos = System.nanoTime();
    return true;
  }

  /** Monotonic time of the latest ack sent in the epoch accepted before the current one. */
  public synchronized long lastAckNanos() {
    return lastAckNanos;
  }

  /** The latest ranges applied behind this fence (what a promotion reconciles). */
  RecentWrites recentWrites() {
    return recent;
  }

  /** Monotonic time of the latest frame applied from the accepted primary; 0 before any. */
  public synchronized long lastFrameNanos() {
    return lastFrameNanos;
  }

  /**
   * A membership read fresh from the API server (after the watch or the leader's hint showed a
   * change): a newer epoch that lists this engine is accepted and persisted now, so this member
   * stops acking the deposed primary before the new one says HELLO. Returns whether the accepted
   * epoch rose.
   */
  public synchronized boolean observe(Membership freshRead) throws IOException {
    Superblock sb = metadata.superblock();
    if (freshRead.epoch() <= sb.acceptedEpoch() || freshRead.member(self).isEmpty()) {
      return false;
    }
    metadata.write(sb.accepting(freshRead.epoch(), freshRead.primary(), self));
    log.info("{}: accepted epoch {} (primary {}) from the IscsiVolume, was {}", volume,
        freshRead.epoch(), freshRead.primary(), sb.acceptedEpoch());
    return true;
  }

  /**
   * Whether this engine may act as primary of {@code epoch}: a fresh read shows {@code epoch}
   * with this engine as primary, and the superblock holds that epoch (written now if it held an
   * older one; refused if it holds a newer one).
   */
  public synchronized boolean mayServeAsPrimary(long epoch) throws IOException {
    Superblock sb = metadata.superblock();
    if (sb.acceptedEpoch() > epoch) {
      return false;
    }
    Optional<Membership> read = fresh.get();
    if (read.isEmpty() || read.get().epoch() != epoch || !read.get().primary().equals(self)) {
      return false;
    }
    if (sb.acceptedEpoch() < epoch || !sb.acceptedPrimary().equals(self)) {
      metadata.write(sb.accepting(epoch, self, self));
    }
    return true;
  }

  private Verdict sameOrOlder(long epoch, String sender, Superblock sb) {
    long a = sb.acceptedEpoch();
    if (epoch < a) {
      return refuse(NackReason.STALE_EPOCH, a, "epoch " + epoch + " is older than the "
          + "accepted " + a);
    }
    if (!sender.equals(sb.acceptedPrimary())) {
      return refuse(NackReason.NOT_MEMBER, a, sender + " is not the primary of epoch " + a
          + " (" + sb.acceptedPrimary() + " is)");
    }
    return APPLY;
  }

  private Verdict refuse(NackReason reason, long a, String why) {
    log.debug("{}: refused {} ({}): {}", volume, reason, a, why);
    return new Verdict.Refuse(reason, a, why);
  }
}
