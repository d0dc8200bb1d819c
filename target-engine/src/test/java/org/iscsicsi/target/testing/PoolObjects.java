package org.iscsicsi.target.testing;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.iscsicsi.target.kube.IscsiEngines;
import org.iscsicsi.target.kube.IscsiVolumes;

/**
 * What a pool needs in a fresh API server before its engines start, as the replication ITs set
 * it up: the IscsiVolume and IscsiEngine CRDs (served once listing works), the namespace, and one
 * Node per engine with the storage-node label.
 */
public final class PoolObjects {
  private PoolObjects() {}

  /**
   * @param crdDir the controller's {@code src/main/resources/crd} (the one copy of the CRDs)
   */
  public static void install(KubernetesClient client, Path crdDir, String namespace,
      List<String> storageNodes, Duration wait) throws IOException {
    for (String crd : List.of("iscsivolumes.yaml", "iscsiengines.yaml")) {
      try (InputStream in = Files.newInputStream(crdDir.resolve(crd))) {
        CustomResourceDefinition d = client.apiextensions().v1().customResourceDefinitions()
            .load(in).item();
        client.apiextensions().v1().customResourceDefinitions().resource(d).create();
      }
    }
    await().atMost(wait).ignoreExceptions().until(() -> client.genericKubernetesResources(
        IscsiVolumes.CONTEXT).list() != null);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace)
        .endMetadata().build()).create();
    for (String name : storageNodes) {
      client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
          .addToLabels(IscsiEngines.STORAGE_NODE_LABEL, "true").endMetadata().build()).create();
    }
  }
}
