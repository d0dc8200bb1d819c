package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.iscsicsi.controller.service.ChapSecretStore;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Kubernetes Secret per volume, {@code <prefix><volume name>} in the controller's namespace,
 * holding the generated CHAP credentials under the node-stage keys ({@code username},
 * {@code password}, {@code username_in}, {@code password_in}). The chart's StorageClasses name it
 * as node-stage secret ({@code <prefix>${pv.name}}; the CSI volume name is the PV name), so
 * kubelet reads it, under the Node authorizer, only on a node where a pod uses the volume.
 *
 * <p>The Secret has no owner (a PV cannot own an object in a namespace, and the controller pod
 * must not: a restart would delete every Secret) and carries the labels
 * {@code app.kubernetes.io/managed-by} (the driver) and {@value #VOLUME_LABEL} (the volume id);
 * a Secret of that name without this volume's label is never used or deleted. Needs, in its
 * namespace only, create, get and delete on secrets.
 */
public final class ChapSecrets implements ChapSecretStore {

  private static final Logger log = LoggerFactory.getLogger(ChapSecrets.class);

  public static final String DEFAULT_PREFIX = "iscsi-csi-chap-";
  public static final String VOLUME_LABEL = "csi.iscsicsi.org/volume-id";
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String VOLUME_NAME_ANNOTATION = "csi.iscsicsi.org/volume-name";
  /** A Secret's name: a DNS subdomain (RFC 1123), at most 253 characters. */
  private static final Pattern SECRET_NAME = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final int MAX_NAME = 253;

  private final KubernetesClient client;
  private final String namespace;
  private final String prefix;
  private final String driver;

  public ChapSecrets(KubernetesClient client, String namespace, String prefix, String driver) {
    if (!(prefix.isEmpty() || SECRET_NAME.matcher(prefix + "x").matches())) {
      throw new IllegalArgumentException("CHAP Secret prefix \"" + prefix + "\": lowercase "
          + "letters, digits, '-' and '.', starting with a letter or digit");
    }
    this.client = client;
    this.namespace = namespace;
    this.prefix = prefix;
    this.driver = driver;
  }

  /** The Secret of the volume named {@code volumeName}; INVALID_ARGUMENT when no valid name. */
  public String secretName(String volumeName) {
    String name = prefix + volumeName;
    if (name.length() > MAX_NAME || !SECRET_NAME.matcher(name).matches()) {
      throw CsiErrors.invalid("volume name \"" + volumeName + "\" gives no valid Secret name for "
          + "its CHAP credentials (\"" + prefix + "<name>\" must be a DNS subdomain of at most "
          + MAX_NAME + " characters)");
    }
    return name;
  }

  @Override
  public ChapCredentials keep(String volumeName, VolumeId id, ChapCredentials fresh) {
    String name = secretName(volumeName);
    Secret secret = new SecretBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace)
        .addToLabels(MANAGED_BY, driver).addToLabels(VOLUME_LABEL, id.toString())
        .addToAnnotations(VOLUME_NAME_ANNOTATION, volumeName).endMetadata()
        .withType("Opaque").withData(encode(fresh.asSecrets())).build();
    try {
      client.secrets().inNamespace(namespace).resource(secret).create();
      log.info("volume {}: CHAP credentials in Secret {}/{}", id, namespace, name);
      return fresh;
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw unavailable("create", name, e);
      }
    }
    Secret existing = get(name);
    if (existing == null) {
      throw CsiErrors.aborted("Secret " + namespace + "/" + name + " was deleted while "
          + "volume " + id + " was created; retry");
    }
    requireOurs(existing, id);
    try {
      return ChapCredentials.fromSecrets(decode(existing.getData()));
    } catch (io.grpc.StatusRuntimeException | IllegalArgumentException broken) {
      throw CsiErrors.failedPrecondition("Secret " + namespace + "/" + name + " of volume " + id
          + " holds no usable CHAP credentials (" + broken.getMessage() + "); fix or delete it");
    }
  }

  @Override
  public void remove(String volumeName, VolumeId id) {
    String name = secretName(volumeName);
    Secret existing = get(name);
    if (existing == null) {
      return;
    }
    if (!id.toString().equals(label(existing))) {
      log.warn("volume {}: Secret {}/{} is not its own (label {}={}); left alone", id, namespace,
          name, VOLUME_LABEL, label(existing));
      return;
    }
    try {
      client.secrets().inNamespace(namespace).withName(name).delete();
      log.info("volume {}: deleted Secret {}/{}", id, namespace, name);
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
        throw unavailable("delete", name, e);
      }
    }
  }

  @Override
  public boolean delivers() {
    return true;
  }

  private Secret get(String name) {
    try {
      return client.secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw unavailable("read", name, e);
    }
  }

  private void requireOurs(Secret s, VolumeId id) {
    if (!id.toString().equals(label(s))) {
      throw CsiErrors.failedPrecondition("Secret " + namespace + "/" + s.getMetadata().getName()
          + " exists but is not the CHAP Secret of volume " + id + " (label " + VOLUME_LABEL
          + " is \"" + label(s) + "\"); remove or rename it");
    }
  }

  private static String label(Secret s) {
    Map<String, String> labels = s.getMetadata().getLabels();
    return labels == null ? "" : labels.getOrDefault(VOLUME_LABEL, "");
  }

  private io.grpc.StatusRuntimeException unavailable(String what, String name,
      KubernetesClientException e) {
    // the API server's message names the object and the verb, never the Secret's data
    return io.grpc.Status.UNAVAILABLE.withDescription("cannot " + what + " Secret " + namespace
        + "/" + name + ": HTTP " + e.getCode() + " " + e.getMessage()).asRuntimeException();
  }

  private static Map<String, String> encode(Map<String, String> plain) {
    Map<String, String> out = new LinkedHashMap<>();
    plain.forEach((k, v) -> out.put(k,
        Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    return out;
  }

  private static Map<String, String> decode(Map<String, String> data) {
    Map<String, String> out = new LinkedHashMap<>();
    if (data != null) {
      data.forEach((k, v) -> out.put(k,
          new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    return out;
  }
}
