package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine's watch on the volumes it is a member of (docs/replication.md, section 5): an
 * informer on IscsiVolumes carrying {@code member.iscsi.csi.iscsicsi.org/<engine>}, which hands
 * each membership it sees to a {@link Listener}. What the watch shows is a hint to act on, never
 * a licence: an engine that raises its accepted epoch or serves as primary first reads the
 * object fresh ({@link MembershipWriter#read}).
 */
public final class MembershipWatcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MembershipWatcher.class);

  /** The informer's full resync: a missed event is seen again at the latest after this. */
  static final Duration RESYNC = Duration.ofSeconds(60);

  /** Hears about this engine's replicated volumes. */
  public interface Listener {
    /** The volume's membership as the watch shows it (added, changed, or resynced). */
    void changed(ReplicatedVolume volume);

    /** The volume's object is gone, or this engine is no longer listed on it. */
    void gone(String volume);
  }

  private final KubernetesClient client;
  private final String engine;
  private final Listener listener;
  private SharedIndexInformer<GenericKubernetesResource> informer;

  public MembershipWatcher(KubernetesClient client, String engine, Listener listener) {
    this.client = client;
    this.engine = engine;
    this.listener = listener;
  }

  /**
   * Starts the watch without waiting for its first list; events arrive on the informer's thread.
   * An API server that is not ready yet (a CRD still initialising: 429) or refuses for a while
   * does not stop the engine: the informer retries with its backoff and logs each failure.
   */
  public MembershipWatcher start() {
    informer = client.genericKubernetesResources(IscsiVolumes.CONTEXT)
        .withLabel(IscsiVolumes.memberLabel(engine))
        .runnableInformer(RESYNC.toMillis());
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(GenericKubernetesResource r) {
        deliver(r);
      }

      @Override
      public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource r) {
        deliver(r);
      }

      @Override
      public void onDelete(GenericKubernetesResource r, boolean finalStateUnknown) {
        listener.gone(r.getMetadata().getName());
      }
    });
    informer.exceptionHandler((started, e) -> {
      log.warn("watch of the IscsiVolumes with member {} failed (retrying): {}", engine,
          e.toString());
      return true;
    });
    informer.start();
    return this;
  }

  /** The membership the watch last saw for {@code volume}. */
  public Optional<ReplicatedVolume> cached(String volume) {
    if (informer == null) {
      return Optional.empty();
    }
    return informer.getStore().list().stream()
        .filter(r -> r.getMetadata().getName().equals(volume)).findFirst()
        .flatMap(MembershipWatcher::parse);
  }

  private void deliver(GenericKubernetesResource r) {
    parse(r).ifPresent(v -> {
      if (v.membership().member(engine).isPresent()) {
        listener.changed(v);
      } else {
        listener.gone(v.name()); // label left behind: the entry is what counts
      }
    });
  }

  private static Optional<ReplicatedVolume> parse(GenericKubernetesResource r) {
    try {
      return ReplicatedVolume.of(r);
    } catch (RuntimeException e) {
      log.warn("IscsiVolume {} has a malformed status.replication, ignored: {}",
          r.getMetadata().getName(), e.toString());
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.close();
    }
  }
}
