package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.controller.ControllerConfig;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.target.engine.HostPort;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IscsiVolume objects follow the real embedded engine: one per volume with size, IQN and granted
 * initiators; rewritten when a grant changes, left alone when nothing changed, deleted with the
 * volume. The API server is fabric8's mock in CRUD mode; e2e's VolumeLifecycleTest runs the sync
 * against a real kube-apiserver with the chart's CRD and RBAC ({@code kubectl get iscsivolumes}).
 */
@EnableKubernetesMockClient(crud = true)
class IscsiVolumeSyncTest {

  static KubernetesClient client;
  static KubernetesMockServer server;

  @TempDir Path dir;

  @Test
  void objectsFollowTheEngine() throws Exception {
    server.expectCustomResource(new CustomResourceDefinitionContext.Builder()
        .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiVolume")
        .withPlural("iscsivolumes").withScope("Cluster").build());
    ControllerConfig config = ControllerConfig.defaults();
    try (EngineSet engines = new EngineSet()) {
      Engine e = EmbeddedEngine.start(engines, "local", dir, new HostPort("127.0.0.1", 0),
          List.of(), Map.of(), Duration.ofSeconds(10));
      String iqn = config.iqnPrefix() + ":local.pvc-1";
      e.client().createTarget(iqn, "pvc-1", Map.of("csi.iscsicsi.org/managed-by",
          config.driverName(), "csi.iscsicsi.org/name", "pvc-1",
          "csi.iscsicsi.org/k8s.pvc.name", "data"));
      e.client().createLun(CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
          .setSizeBytes(1 << 20).build());
      IscsiVolumeSync sync = new IscsiVolumeSync(client, engines, config);

      assertThat(sync.syncOnce()).isEqualTo(1);
      GenericKubernetesResource r = client.genericKubernetesResources(IscsiVolumeSync.CONTEXT)
          .withName("local.pvc-1").get();
      Map<String, Object> status = r.get("status");
      assertThat(status).containsEntry("targetIqn", iqn).containsEntry("sessions", 0)
          .containsEntry("initiators", List.of());
      assertThat(((Number) status.get("sizeBytes")).longValue()).isEqualTo(1 << 20);
      assertThat((Map<String, Object>) r.get("spec")).containsEntry("pvcName", "data");

      assertThat(sync.syncOnce()).isZero();
      e.client().grant(iqn, "iqn.2026-11.org.example:node-a", true);
      assertThat(sync.syncOnce()).isEqualTo(1);
      Map<String, Object> granted = client.genericKubernetesResources(IscsiVolumeSync.CONTEXT)
          .withName("local.pvc-1").get().get("status");
      assertThat(granted).containsEntry("initiators",
          List.of("iqn.2026-11.org.example:node-a (ro)"));

      e.client().deleteTarget(iqn, true);
      assertThat(sync.syncOnce()).isEqualTo(1);
      assertThat(client.genericKubernetesResources(IscsiVolumeSync.CONTEXT).list().getItems())
          .isEmpty();
    }
  }
}
