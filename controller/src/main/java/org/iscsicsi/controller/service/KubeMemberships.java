package org.iscsicsi.controller.service;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.target.kube.IscsiVolumes;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.v1.SetLunReplicationRequest;

/**
 * {@link Memberships} in the cluster: the engines' own {@link MembershipWriter} (the same
 * compare-and-swap rules for every writer) on the IscsiVolume objects, and the engines'
 * TargetReplication service.
 */
public final class KubeMemberships implements Memberships {

  private final KubernetesClient client;
  private final MembershipWriter writer;

  public KubeMemberships(KubernetesClient client) {
    this.client = client;
    this.writer = new MembershipWriter(client);
  }

  @Override
  public void create(String volume, int replicas, Membership created) {
    writer.create(volume, replicas, created, Map.of());
  }

  @Override
  public Optional<Membership> read(String volume) {
    return writer.read(volume).map(ReplicatedVolume::membership);
  }

  @Override
  public Optional<Map<String, Membership>> list() {
    Map<String, Membership> out = new java.util.HashMap<>();
    client.genericKubernetesResources(IscsiVolumes.CONTEXT).list().getItems().stream()
        .flatMap(r -> ReplicatedVolume.of(r).stream())
        .forEach(v -> out.put(v.name(), v.membership()));
    return Optional.of(out);
  }

  @Override
  public void delete(String volume) {
    client.genericKubernetesResources(IscsiVolumes.CONTEXT).withName(volume).delete();
  }

  @Override
  public void activate(Engine engine, SetLunReplicationRequest request) {
    engine.client().setLunReplication(request);
  }
}
