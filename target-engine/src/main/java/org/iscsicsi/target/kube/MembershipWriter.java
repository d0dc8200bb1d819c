package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.iscsicsi.target.kube.MembershipRefused.Reason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes a volume's membership with compare-and-swap (docs/replication.md, section 5):
 * every write is a replace of the whole IscsiVolume carrying the resourceVersion it was decided
 * from, so the API server refuses it (409) when anything changed in between. A refused write is
 * never retried as it was: the object is read again and the change decided again from scratch
 * (it may now be refused, e.g. because the epoch moved), up to {@link #ATTEMPTS} times. Reads
 * are GETs from the API server, never a watch cache.
 */
public final class MembershipWriter {

  private static final Logger log = LoggerFactory.getLogger(MembershipWriter.class);

  /** Re-reads after a conflict before giving up (each conflict means another writer won). */
  public static final int ATTEMPTS = 8;

  private final KubernetesClient client;

  public MembershipWriter(KubernetesClient client) {
    this.client = client;
  }

  /** A fresh read of the volume's membership (empty: no object, or none with a membership). */
  public Optional<ReplicatedVolume> read(String volume) {
    return Optional.ofNullable(api().withName(volume).get()).flatMap(ReplicatedVolume::of);
  }

  /**
   * CreateVolume's write: creates the IscsiVolume with {@code labels} (the controller's own)
   * and the membership, or adds the membership to an object that has none yet (the volume sync
   * may have created it first). An object that has a membership already is refused.
   */
  public ReplicatedVolume create(String volume, int replicas, Membership created,
      Map<String, String> labels) {
    MembershipTransitions.check(null, created);
    for (int attempt = 1; ; attempt++) {
      GenericKubernetesResource current = api().withName(volume).get();
      try {
        if (current == null) {
          GenericKubernetesResource r = new GenericKubernetesResourceBuilder()
              .withApiVersion(IscsiEngines.GROUP + "/" + IscsiEngines.VERSION)
              .withKind(IscsiVolumes.KIND)
              .withNewMetadata().withName(volume).withLabels(labels).endMetadata().build();
          ReplicatedVolume.write(r, replicas, created);
          return ReplicatedVolume.of(api().resource(r).create()).orElseThrow();
        }
        if (ReplicatedVolume.of(current).isPresent()) {
          throw new MembershipRefused(Reason.EXISTENCE, "IscsiVolume " + volume
              + " has a membership already");
        }
        ReplicatedVolume.write(current, replicas, created);
        return ReplicatedVolume.of(api().resource(current).update()).orElseThrow();
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT || attempt >= ATTEMPTS) {
          throw e;
        }
        log.debug("IscsiVolume {} changed while its membership was created; reading again",
            volume);
      }
    }
  }

  /**
   * One membership change: reads the object, lets {@code decide} (a {@link
   * MembershipTransitions} function) make the next membership from the current one, checks it,
   * and replaces the object with the resourceVersion read. On 409 everything is read and decided
   * again. Returns the volume as written; throws {@link MembershipRefused} when the change does
   * not apply (now), and the API server's error when writing fails otherwise or keeps
   * conflicting.
   */
  public ReplicatedVolume change(String volume, UnaryOperator<Membership> decide) {
    for (int attempt = 1; ; attempt++) {
      GenericKubernetesResource current = api().withName(volume).get();
      if (current == null) {
        throw new MembershipRefused(Reason.EXISTENCE, "IscsiVolume " + volume + " is gone");
      }
      ReplicatedVolume read = ReplicatedVolume.of(current).orElseThrow(() ->
          new MembershipRefused(Reason.EXISTENCE, "IscsiVolume " + volume
              + " has no membership"));
      Membership next = decide.apply(read.membership());
      MembershipTransitions.check(read.membership(), next);
      ReplicatedVolume.write(current, read.replicas(), next);
      try {
        ReplicatedVolume written = ReplicatedVolume.of(api().resource(current).update())
            .orElseThrow();
        log.info("IscsiVolume {}: membership epoch {} generation {} ({}, primary {})", volume,
            next.epoch(), next.generation(), next.summary(), next.primary());
        return written;
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT || attempt >= ATTEMPTS) {
          throw e;
        }
        log.debug("IscsiVolume {} changed since resourceVersion {}; deciding again", volume,
            read.resourceVersion());
      }
    }
  }

  private io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<GenericKubernetesResource,
      io.fabric8.kubernetes.api.model.GenericKubernetesResourceList,
      io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>> api() {
    return client.genericKubernetesResources(IscsiVolumes.CONTEXT);
  }
}
