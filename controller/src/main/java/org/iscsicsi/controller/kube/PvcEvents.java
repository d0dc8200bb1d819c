package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.iscsicsi.controller.controller.VolumeEvents;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warnings as core/v1 Events on a PVC (what {@code kubectl describe pvc} lists), with the PVC's
 * uid so that they match the object. The PVC's name and namespace come from the
 * external-provisioner's {@code --extra-create-metadata}. Needs get on persistentvolumeclaims and
 * create on events in the PVC's namespace (the provisioner's ClusterRole has both); a failure is
 * logged and never fails the call.
 */
public final class PvcEvents implements VolumeEvents {

  private static final Logger log = LoggerFactory.getLogger(PvcEvents.class);
  static final String COMPONENT = "iscsi-csi-controller";

  private final KubernetesClient client;
  private final String reportingInstance;

  public PvcEvents(KubernetesClient client, String reportingInstance) {
    this.client = client;
    this.reportingInstance = reportingInstance;
  }

  @Override
  public void warn(String namespace, String name, String reason, String message) {
    try {
      PersistentVolumeClaim pvc = client.persistentVolumeClaims().inNamespace(namespace)
          .withName(name).get();
      String uid = pvc == null ? null : pvc.getMetadata().getUid();
      String now = DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(
          ChronoUnit.SECONDS));
      Event event = new EventBuilder()
          .withNewMetadata().withNamespace(namespace)
          .withName(name + "." + UUID.randomUUID().toString().replace("-", "").substring(0, 16))
          .endMetadata()
          .withNewInvolvedObject().withApiVersion("v1").withKind("PersistentVolumeClaim")
          .withNamespace(namespace).withName(name).withUid(uid).endInvolvedObject()
          .withType("Warning").withReason(reason).withMessage(message)
          .withNewSource().withComponent(COMPONENT).endSource()
          .withReportingComponent(COMPONENT).withReportingInstance(reportingInstance)
          .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
          .build();
      client.v1().events().inNamespace(namespace).resource(event).create();
    } catch (KubernetesClientException e) {
      log.warn("could not record event {} on PVC {}/{}: HTTP {} {}", reason, namespace, name,
          e.getCode(), e.getMessage());
    }
  }
}
