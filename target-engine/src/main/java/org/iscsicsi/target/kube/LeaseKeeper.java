package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code Lease/iscsi-engine-<engine>} held by {@code <engine>/<incarnation>}: each renewal
 * is an update carrying the resourceVersion last seen, so a write that raced another is refused
 * (409) and re-read rather than overwritten blind. Liveness only: the Lease never carries status.
 * It is owned by the IscsiEngine object, so it goes when the object is deleted.
 */
final class LeaseKeeper {

  private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

  private final KubernetesClient client;
  private final RegistrationSettings settings;
  private final String name;
  private final String holder;
  private Lease last;
  /** Whether a renewal of this keeper succeeded: a later foreign holder is a name clash. */
  private boolean held;

  LeaseKeeper(KubernetesClient client, RegistrationSettings settings) {
    this.client = client;
    this.settings = settings;
    this.name = IscsiEngines.leaseName(settings.engine());
    this.holder = IscsiEngines.holder(settings.engine(), settings.incarnation());
  }

  /**
   * One renewal (creating the Lease if it is missing); throws what the API server answered.
   *
   * @param owner the IscsiEngine object: the Lease's owner reference, so Kubernetes' garbage
   *     collector deletes the Lease with the object
   */
  void renew(GenericKubernetesResource owner) {
    OwnerReference ownedBy = new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion())
        .withKind(owner.getKind()).withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid()).build();
    var leases = client.leases().inNamespace(settings.namespace());
    if (last == null) {
      last = leases.withName(name).get();
    }
    // microseconds: the API server keeps Lease times as MicroTime
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    int seconds = (int) settings.leaseDuration().toSeconds();
    if (last == null) {
      last = leases.resource(new LeaseBuilder().withNewMetadata().withName(name)
          .withNamespace(settings.namespace()).withOwnerReferences(ownedBy).endMetadata()
          .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(seconds)
          .withAcquireTime(now).withRenewTime(now).withLeaseTransitions(0).endSpec()
          .build()).create();
      log.info("Lease {}/{} created, held by {}", settings.namespace(), name, holder);
      return;
    }
    var spec = last.getSpec();
    boolean taking = !holder.equals(spec == null ? null : spec.getHolderIdentity());
    if (taking && spec != null && spec.getHolderIdentity() != null
        && spec.getHolderIdentity().startsWith(settings.engine() + "/") && held) {
      log.warn("Lease {}/{} was renewed by {} while {} held it: two engines run under the name "
          + "'{}'", settings.namespace(), name, spec.getHolderIdentity(), holder,
          settings.engine());
    }
    int transitions = spec == null || spec.getLeaseTransitions() == null ? 0
        : spec.getLeaseTransitions();
    LeaseBuilder next = new LeaseBuilder(last).editMetadata().withOwnerReferences(ownedBy)
        .endMetadata().editOrNewSpec().withHolderIdentity(holder)
        .withLeaseDurationSeconds(seconds).withRenewTime(now)
        .withAcquireTime(taking ? now : spec.getAcquireTime())
        .withLeaseTransitions(taking ? transitions + 1 : transitions).endSpec();
    try {
      last = leases.resource(next.build()).update();
      held = true;
      if (taking) {
        log.info("Lease {}/{} taken over by {}", settings.namespace(), name, holder);
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT
          || e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        last = null; // someone else wrote it, or deleted it: read again on the next attempt
      }
      throw e;
    }
  }

  /** The holder identity this keeper writes. */
  String holder() {
    return holder;
  }
}
