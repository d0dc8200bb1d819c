package org.iscsicsi.target.replication;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipRefused;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.transfer.ReplicationNetwork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member becoming primary after the controller's leader promoted it (docs/replication.md
 * section 8, steps 2-6): it reads the IscsiVolume fresh and acts only when it shows the new
 * epoch with this engine primary and the superblock holds that epoch (written now); says HELLO
 * at the new epoch to every in-sync member, marking one that cannot be reached within
 * {@link ReplicaSession#MEMBER_SILENCE_LIMIT} OutOfSync by compare-and-swap; waits out the old
 * primary's serve lease from this member's last ack to it; then hands the unit over to be routed
 * (its port turns active/optimized with the lease) and compare-and-swaps phase Serving.
 *
 * <p>Reconcile (step 5), as far as it is built: no commit point travels yet and the members do
 * not report their rings, so this engine copies its own bytes of the ranges it applied last
 * ({@link RecentWrites}: the newest 4096, at most the 32 MiB window) to every in-sync member.
 * Every acknowledged write is on this engine already (it was in sync, and GOOD needed its ack);
 * after the copy, every write this engine applied from the old primary's tail ends the same on
 * all members. Not reconciled: a write the old primary got onto another member but not onto
 * this one (never acknowledged); that range may differ until it is written again or the member
 * is rebuilt.
 */
final class Promotion {

  private static final Logger log = LoggerFactory.getLogger(Promotion.class);

  /** Between attempts to reach a member that did not answer the HELLO. */
  static final Duration REDIAL = Duration.ofMillis(200);

  /** Why the promotion stopped without serving (the epoch moved, the LUN was closed). */
  static final class Abandoned extends Exception {
    Abandoned(String message) {
      super(message);
    }
  }

  private final String self;
  private final ReplicatedLun lun;
  private final MembershipWriter writer;
  private final ReplicationNetwork network;
  private final Clock clock;

  Promotion(String self, ReplicatedLun lun, MembershipWriter writer,
      ReplicationNetwork network, Clock clock) {
    this.self = self;
    this.lun = lun;
    this.writer = writer;
    this.network = network;
    this.clock = clock;
  }

  /**
   * Runs steps 2-6 for {@code epoch}; {@code route} makes the unit the LUN's I/O path before the
   * phase is written Serving. Returns the unit serving as primary.
   */
  ReplicatedUnit run(long epoch, Consumer<ReplicatedUnit> route)
      throws Abandoned, InterruptedException {
    String volume = lun.volume();
    long started = System.nanoTime();
    try {
      if (!lun.fence.mayServeAsPrimary(epoch)) {
        throw new Abandoned("the IscsiVolume does not show epoch " + epoch + " with " + self
            + " primary (accepted " + lun.fence.accepted() + ")");
      }
    } catch (IOException e) {
      throw new Abandoned("epoch " + epoch + " could not be persisted: " + e.getMessage());
    }
    // the epoch is accepted: no ack of the old epoch leaves this member after this point
    long lastAck = lun.fence.lastAckNanos();
    Membership m = fresh(epoch);
    Map<String, ReplicaLink> links = link(m, epoch, started);
    m = fresh(epoch);
    ServeLease lease = new ServeLease();
    lease.waitOutPredecessor(lastAck);
    ReplicatedUnit unit = new ReplicatedUnit(self, volume, lun.local, writer, m, links, lease,
        clock);
    try {
      long waitMillis = lease.predecessorWait().toMillis();
      if (waitMillis > 0) {
        log.info("{}: waiting {} ms for the old primary's serve lease to lapse", volume,
            waitMillis);
        Thread.sleep(waitMillis);
      }
      reconcile(unit, unit.membership());
      route.accept(unit);
      Membership serving = writer.change(volume, x -> MembershipTransitions.serving(x, self,
          epoch)).membership();
      log.info("{}: primary of epoch {} after {} ms (members {})", volume, epoch,
          Duration.ofNanos(System.nanoTime() - started).toMillis(), serving.summary());
      return unit;
    } catch (MembershipRefused e) {
      unit.depose(e.getMessage());
      throw new Abandoned("phase Serving refused: " + e.getMessage());
    } catch (Abandoned | RuntimeException | InterruptedException e) {
      unit.close();
      throw e;
    }
  }

  /** Step 5: this engine's bytes of its recent ranges to every in-sync member. */
  private void reconcile(ReplicatedUnit unit, Membership m) throws Abandoned {
    if (m.ackingReplicas().isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    long bytes = 0;
    var ranges = lun.fence.recentWrites().snapshot();
    try {
      for (RecentWrites.Range r : ranges) {
        unit.reconcile(r.offset(), r.length(), r.unmap());
        bytes += r.unmap() ? 0 : r.length();
      }
    } catch (IOException e) {
      throw new Abandoned("reconciling the uncommitted tail failed: " + e.getMessage());
    }
    log.info("{}: reconciled {} ranges ({} bytes) to {} in {} ms", lun.volume(), ranges.size(),
        bytes, m.ackingReplicas(), Duration.ofNanos(System.nanoTime() - start).toMillis());
  }

  /**
   * HELLO at {@code epoch} to every acking member; one not reached within the silence limit is
   * taken out by compare-and-swap. A member that answers with a newer epoch ends the promotion.
   */
  private Map<String, ReplicaLink> link(Membership m, long epoch, long started)
      throws Abandoned, InterruptedException {
    Map<String, ReplicaLink> links = new LinkedHashMap<>();
    Duration ackTimeout = ReplicatedLuns.ackTimeout(lun.request);
    try {
      for (String member : m.ackingReplicas()) {
        String at = lun.request.getMemberAddressesMap().get(member);
        String failure = at == null ? "no replication address"
            : network == null ? "this engine has no replication port" : null;
        while (failure == null) {
          try {
            links.put(member, ReplicaLink.open(network, member, HostPort.parse(at, -1), epoch,
                new ReplicaHello(lun.volume(), self, m.generation()), ackTimeout));
            break;
          } catch (ReplicaLink.LinkFailure e) {
            if (e.reason() == NackReason.STALE_EPOCH) {
              throw new Abandoned(member + " is at epoch " + e.memberEpoch() + " already");
            }
            if (System.nanoTime() - started >= ReplicaSession.MEMBER_SILENCE_LIMIT.toNanos()) {
              failure = e.getMessage();
            } else {
              Thread.sleep(REDIAL.toMillis());
            }
          }
        }
        if (failure != null) {
          String why = "silent during the promotion to epoch " + epoch + ": " + failure;
          try {
            writer.change(lun.volume(), x -> MembershipTransitions.outOfSync(x, self, epoch,
                member, why, clock.instant()));
            log.warn("{}: member {} taken out: {}", lun.volume(), member, why);
          } catch (MembershipRefused e) {
            if (e.reason() == MembershipRefused.Reason.NOT_PRIMARY) {
              throw new Abandoned(e.getMessage());
            }
            log.info("{}: member {} not taken out: {}", lun.volume(), member, e.getMessage());
          }
        }
      }
    } catch (Abandoned | InterruptedException | RuntimeException e) {
      links.values().forEach(ReplicaLink::close);
      throw e;
    }
    return links;
  }

  private Membership fresh(long epoch) throws Abandoned {
    Membership m = writer.read(lun.volume()).map(ReplicatedVolume::membership).orElseThrow(
        () -> new Abandoned("the IscsiVolume or its membership is gone"));
    if (m.epoch() != epoch || !m.primary().equals(self)) {
      throw new Abandoned("the volume moved to epoch " + m.epoch() + " with primary "
          + m.primary());
    }
    return m;
  }
}
