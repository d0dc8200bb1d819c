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
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.controller.service.TestPool;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IscsiVolume objects follow the real embedded engine: one per volume with size, IQN and granted
 * initiators; rewritten when a grant changes, left alone when nothing changed, deleted with the
 * volume. The API server is fabric8's mock in CRUD mode; e2e's VolumeLifecycleTest runs the sync
 * against a real kube-apiserver with the chart's CRD and RBAC ({@code kubectl get iscsivolumes}).
 * In a pool (real embedded engines behind {@link TestPool}'s stand-in directory) objects follow
 * the controller's index: placement named, an unreachable engine's volumes kept and not called,
 * a silent engine's kept, and deleted only after their engine answered without them.
 */
@EnableKubernetesMockClient(crud = true)
class IscsiVolumeSyncTest {

  // instance fields: a fresh mock API server per test
  KubernetesClient client;
  KubernetesMockServer server;

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

  /** Pool mode: objects from the index, never deleted on an engine's silence. */
  @Test
  void poolObjectsFollowTheIndexAndSurviveASilentEngine() throws Exception {
    expectCrd();
    ControllerConfig config = ControllerConfig.defaults();
    try (TestPool pool = new TestPool(dir)) {
      Engine e1 = pool.start("e1", Map.of());
      Engine e2 = pool.start("e2", Map.of());
      String v1 = volume(e1, config, "pool.v1");
      volume(e2, config, "pool.v2");
      IscsiVolumeSync sync = new IscsiVolumeSync(client,
          new ControllerService(pool, config).inventory().orElseThrow(), config);

      assertThat(sync.syncOnce()).isEqualTo(2);
      assertThat(status("pool.v1")).containsEntry("placement", List.of("e1"));
      assertThat(status("pool.v2")).containsEntry("placement", List.of("e2"))
          .containsEntry("targetIqn", config.iqnPrefix() + ":pool.v2");
      assertThat(sync.syncOnce()).isZero();

      // e2 unreachable and gone: not called, its volume's object stays as last read
      pool.status("e2", EngineState.UNREACHABLE, "lease expired");
      pool.stop("e2");
      long start = System.nanoTime();
      assertThat(sync.syncOnce()).isZero();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
      assertThat(status("pool.v2")).containsEntry("placement", List.of("e2"));

      // e1 stopped while the directory still says Ready: its listing fails, nothing deleted
      pool.stop("e1");
      assertThat(sync.syncOnce()).isZero();
      assertThat(names()).containsExactlyInAnyOrder("pool.v1", "pool.v2");

      // e1 back without pool.v1: deleted after e1 answered; pool.v2 still kept
      Engine back = pool.restart("e1");
      back.client().deleteTarget(v1, true);
      assertThat(sync.syncOnce()).isEqualTo(1);
      assertThat(names()).containsExactly("pool.v2");
    }
  }

  private void expectCrd() {
    server.expectCustomResource(new CustomResourceDefinitionContext.Builder()
        .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiVolume")
        .withPlural("iscsivolumes").withScope("Cluster").build());
  }

  /** A complete volume target of this driver, as CreateVolume leaves it; returns its IQN. */
  private static String volume(Engine e, ControllerConfig config, String id) {
    String iqn = config.iqnPrefix() + ":" + id;
    e.client().createTarget(iqn, id, Map.of("csi.iscsicsi.org/managed-by", config.driverName(),
        "csi.iscsicsi.org/name", id));
    e.client().createLun(CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
        .setSizeBytes(1 << 20).build());
    return iqn;
  }

  private Map<String, Object> status(String name) {
    return client.genericKubernetesResources(IscsiVolumeSync.CONTEXT).withName(name).get()
        .get("status");
  }

  private List<String> names() {
    return client.genericKubernetesResources(IscsiVolumeSync.CONTEXT).list().getItems().stream()
        .map(r -> r.getMetadata().getName()).toList();
  }
}
