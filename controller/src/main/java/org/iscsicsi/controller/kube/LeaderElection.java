package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader election on a coordination.k8s.io/v1 Lease (the mechanism client-go and the CSI sidecars
 * use), for running more than one controller replica against shared remote engines: only the
 * holder of the Lease serves Controller calls; the others answer UNAVAILABLE until they win it.
 */
public final class LeaderElection implements BooleanSupplier, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaderElection.class);

  private final AtomicBoolean leading = new AtomicBoolean();
  private final AtomicReference<String> leader = new AtomicReference<>("");
  private final String identity;
  private volatile boolean closed;
  private volatile CompletableFuture<?> running;

  private LeaderElection(String identity) {
    this.identity = identity;
  }

  /**
   * Starts campaigning for {@code namespace/lease} as {@code identity}, for as long as this object
   * is open: fabric8's elector ends for good when its leader cannot renew the Lease within the
   * renew deadline (an API server outage, RBAC being replaced), so a new campaign starts after
   * every such end, and the replica leads again once the Lease is free.
   *
   * @param leaseDuration how long a Lease stays valid without renewal
   */
  public static LeaderElection start(KubernetesClient client, String namespace, String lease,
      String identity, Duration leaseDuration) {
    LeaderElection e = new LeaderElection(identity);
    Duration renew = leaseDuration.multipliedBy(2).dividedBy(3);
    Duration retry = leaseDuration.dividedBy(5);
    LeaderElectionConfig config = new LeaderElectionConfigBuilder()
        .withName(lease)
        .withLock(new LeaseLock(namespace, lease, identity))
        .withLeaseDuration(leaseDuration)
        .withRenewDeadline(renew)
        .withRetryPeriod(retry)
        .withReleaseOnCancel()
        .withLeaderCallbacks(new LeaderCallbacks(
            () -> {
              e.leading.set(true);
              log.info("{} leads {}/{}", identity, namespace, lease);
            },
            () -> {
              e.leading.set(false);
              log.info("{} stopped leading {}/{}", identity, namespace, lease);
            },
            who -> {
              e.leader.set(who);
              log.info("leader of {}/{} is {}", namespace, lease, who);
            }))
        .build();
    e.campaign(client, config, retry);
    return e;
  }

  private void campaign(KubernetesClient client, LeaderElectionConfig config, Duration retry) {
    if (closed) {
      return;
    }
    CompletableFuture<?> f = client.leaderElector().withConfig(config).build().start();
    running = f;
    if (closed) { // close() ran while this campaign started
      f.cancel(true);
      return;
    }
    f.whenComplete((ok, error) -> {
      if (!closed) {
        leading.set(false);
        log.warn("{} campaigns again for {} after its election ended{}", identity,
            config.getName(), error == null ? "" : ": " + error);
        CompletableFuture.delayedExecutor(retry.toMillis(), TimeUnit.MILLISECONDS)
            .execute(() -> campaign(client, config, retry));
      }
    });
  }

  /** True while this replica holds the Lease. */
  @Override
  public boolean getAsBoolean() {
    return leading.get();
  }

  /** The identity of the current leader, as last observed ("" when unknown). */
  public String leader() {
    return leader.get();
  }

  public String identity() {
    return identity;
  }

  /** Stops campaigning and releases the Lease if held. */
  @Override
  public void close() {
    closed = true;
    CompletableFuture<?> r = running;
    if (r != null) {
      r.cancel(true);
    }
    leading.set(false);
  }
}
