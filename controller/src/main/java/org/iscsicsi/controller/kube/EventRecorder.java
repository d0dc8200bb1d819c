package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * core/v1 Events about an object (what {@code kubectl describe} lists), reported by the
 * controller. Needs create on events in the event's namespace; a failure is logged and never
 * fails the caller.
 */
public final class EventRecorder {

  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);
  static final String COMPONENT = "iscsi-csi-controller";
  private static final int NAME_SUFFIX_HEX = 16;
  /**
   * Where events about cluster-scoped objects go: the API server accepts a core/v1 Event whose
   * involved object has no namespace only in "default" (as kubectl's events about Nodes are);
   * {@code kubectl describe} of such an object searches every namespace.
   */
  public static final String CLUSTER_SCOPED_NAMESPACE = "default";

  /** The object an event is about; {@code namespace} is "" for a cluster-scoped one. */
  public record About(String apiVersion, String kind, String namespace, String name, String uid) {
  }

  public enum Type {
    Normal, Warning
  }

  private final KubernetesClient client;
  private final String reportingInstance;

  public EventRecorder(KubernetesClient client, String reportingInstance) {
    this.client = client;
    this.reportingInstance = reportingInstance;
  }

  /**
   * Records one event in the object's namespace, or for a cluster-scoped object in
   * {@link #CLUSTER_SCOPED_NAMESPACE}.
   */
  public void record(About about, Type type, String reason, String message) {
    String eventNamespace = about.namespace().isEmpty() ? CLUSTER_SCOPED_NAMESPACE
        : about.namespace();
    try {
      String now = DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(
          ChronoUnit.SECONDS));
      Event event = new EventBuilder()
          .withNewMetadata().withNamespace(eventNamespace)
          .withName(about.name() + "." + UUID.randomUUID().toString().replace("-", "")
              .substring(0, NAME_SUFFIX_HEX))
          .endMetadata()
          .withNewInvolvedObject().withApiVersion(about.apiVersion()).withKind(about.kind())
          .withNamespace(about.namespace().isEmpty() ? null : about.namespace())
          .withName(about.name()).withUid(about.uid()).endInvolvedObject()
          .withType(type.name()).withReason(reason).withMessage(message)
          .withNewSource().withComponent(COMPONENT).endSource()
          .withReportingComponent(COMPONENT).withReportingInstance(reportingInstance)
          .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
          .build();
      client.v1().events().inNamespace(eventNamespace).resource(event).create();
    } catch (KubernetesClientException e) {
      log.warn("could not record event {} on {} {}: HTTP {} {}", reason, about.kind(),
          about.name(), e.getCode(), e.getMessage());
    }
  }
}
