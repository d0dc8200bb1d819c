package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.iscsicsi.controller.service.VolumeEvents;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warnings and notes as core/v1 Events on a PVC (what {@code kubectl describe pvc} lists), with the
 * PVC's uid so that they match the object. The PVC's name and namespace come from the
 * external-provisioner's {@code --extra-create-metadata}. Needs get on persistentvolumeclaims and
 * create on events in the PVC's namespace (the provisioner's ClusterRole has both); a failure is
 * logged and never fails the call.
 */
public final class PvcEvents implements VolumeEvents {

  private static final Logger log = LoggerFactory.getLogger(PvcEvents.class);

  private final KubernetesClient client;
  private final EventRecorder events;

  public PvcEvents(KubernetesClient client, String reportingInstance) {
    this(client, new EventRecorder(client, reportingInstance));
  }

  public PvcEvents(KubernetesClient client, EventRecorder events) {
    this.client = client;
    this.events = events;
  }

  @Override
  public void warn(String namespace, String name, String reason, String message) {
    record(namespace, name, EventRecorder.Type.Warning, reason, message);
  }

  @Override
  public void note(String namespace, String name, String reason, String message) {
    record(namespace, name, EventRecorder.Type.Normal, reason, message);
  }

  private void record(String namespace, String name, EventRecorder.Type type, String reason,
      String message) {
    String uid = null;
    try {
      PersistentVolumeClaim pvc = client.persistentVolumeClaims().inNamespace(namespace)
          .withName(name).get();
      uid = pvc == null ? null : pvc.getMetadata().getUid();
    } catch (KubernetesClientException e) {
      log.warn("could not read PVC {}/{} for event {}: HTTP {} {}", namespace, name, reason,
          e.getCode(), e.getMessage());
    }
    events.record(new EventRecorder.About("v1", "PersistentVolumeClaim", namespace,
        name, uid), type, reason, message);
  }
}
