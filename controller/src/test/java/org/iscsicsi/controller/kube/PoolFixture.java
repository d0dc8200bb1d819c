package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.awaitility.Awaitility;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.kube.IscsiEngines;

/**
 * What an engine writes about itself in Kubernetes (docs/pools.md section 2: its IscsiEngine
 * with {@code status.report}, its Lease renewed), written by tests in fabric8's mock API server
 * in place of the engine's own registration, and the operator's {@code spec} changes; or what
 * engines need to register themselves there ({@link #installCrd}, {@link #storageNode},
 * {@link #kubeconfig}).
 */
public final class PoolFixture {

  /** How often {@link #await} and {@link #holds} check their condition. */
  private static final Duration POLL = Duration.ofMillis(50);
  /** How much longer than its period a {@link #holds} check may take (slow checks). */
  private static final Duration HOLD_SLACK = Duration.ofSeconds(2);

  public static final String NAMESPACE = "storage";
  /** The mock server logs every request at INFO (hundreds of Lease renewals in a pool test). */
  public static final java.util.logging.Logger MOCK_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver.MockWebServer");

  private final KubernetesClient client;
  private final java.util.Set<String> written = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** For a real API server, where the installed CRDs make the kinds known. */
  public PoolFixture(KubernetesClient client) {
    this.client = client;
  }

  public PoolFixture(KubernetesMockServer server, KubernetesClient client) {
    this.client = client;
    server.expectCustomResource(new CustomResourceDefinitionContext.Builder()
        .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiEngine")
        .withPlural("iscsiengines").withScope("Cluster").build());
  }

  /** Installs the IscsiEngine CRD (with its status subresource), as the chart does. */
  public void installCrd() throws IOException {
    try (InputStream in = PoolFixture.class.getResourceAsStream("/crd/iscsiengines.yaml")) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
  }

  /** A Node labelled as a storage node: an engine on it registers. */
  public void storageNode(String name) {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
        .withLabels(Map.of(IscsiEngines.STORAGE_NODE_LABEL, "true")).endMetadata().build())
        .create();
  }

  /**
   * A kubeconfig (owner-only) for processes to reach the mock API server, whose certificate is
   * self-signed.
   */
  public Path kubeconfig(Path dir) throws IOException {
    return kubeconfig(dir.resolve("kubeconfig"), client.getMasterUrl().toString());
  }

  /** A kubeconfig at {@code file} naming {@code server} (a relay to the mock API server). */
  public static Path kubeconfig(Path file, String server) throws IOException {
    String yaml = """
        apiVersion: v1
        kind: Config
        clusters: [{name: mock, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
        users: [{name: mock, user: {token: mock}}]
        contexts: [{name: mock, context: {cluster: mock, user: mock}}]
        current-context: mock
        """.formatted(server);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, yaml);
    return file;
  }

  /**
   * The controller's side of a pool as {@code serve --pool} runs it: a directory over mutual
   * TLS, its probe loop and informers with the production timings; closed by {@code closing}.
   */
  public EngineDirectory directory(AdminTls tls, List<AutoCloseable> closing) {
    EngineDirectory d = new EngineDirectory(RemoteEngine.poolChannels(tls),
        Duration.ofSeconds(30), Clock.systemUTC());
    closing.add(d);
    closing.add(EngineHealth.start(d));
    closing.add(EngineInformer.start(client, NAMESPACE, d));
    return d;
  }

  /** Creates the IscsiEngine {@code name} with a report naming its admin address. */
  public GenericKubernetesResource register(String name, String adminAddress,
      String incarnation) {
    written.add(name);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("node", name);
    report.put("incarnation", incarnation);
    report.put("adminAddress", adminAddress);
    report.put("portals", List.of("192.0.2.1:3260"));
    report.put("topology", Map.of("topology.kubernetes.io/zone", "a"));
    return client.genericKubernetesResources(EngineInformer.CONTEXT).resource(
        new GenericKubernetesResourceBuilder()
            .withApiVersion("iscsi.csi.iscsicsi.org/v1alpha1").withKind("IscsiEngine")
            .withNewMetadata().withName(name).endMetadata()
            .addToAdditionalProperties("spec", new LinkedHashMap<>())
            .addToAdditionalProperties("status", new LinkedHashMap<>(Map.of("report", report)))
            .build()).create();
  }

  /** Creates or renews the engine's Lease (renewTime now), as {@code name/incarnation}. */
  public void renew(String name, String incarnation, Duration duration) {
    written.add(name);
    String leaseName = EngineDirectory.LEASE_PREFIX + name;
    for (int attempt = 0; ; attempt++) {
      try {
        Lease current = client.leases().inNamespace(NAMESPACE).withName(leaseName).get();
        if (current == null) {
          client.leases().inNamespace(NAMESPACE).resource(new LeaseBuilder()
              .withNewMetadata().withName(leaseName).withNamespace(NAMESPACE).endMetadata()
              .withNewSpec().withHolderIdentity(name + "/" + incarnation)
              .withLeaseDurationSeconds((int) duration.toSeconds())
              .withRenewTime(ZonedDateTime.now()).withAcquireTime(ZonedDateTime.now())
              .endSpec().build()).create();
        } else {
          current.getSpec().setHolderIdentity(name + "/" + incarnation);
          current.getSpec().setLeaseDurationSeconds((int) duration.toSeconds());
          current.getSpec().setRenewTime(ZonedDateTime.now());
          client.leases().inNamespace(NAMESPACE).resource(current).update();
        }
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt > 20) {
          throw e;
        }
      }
    }
  }

  /** Sets {@code spec.<field>} of the engine's object (cordon, drain). */
  public void setSpec(String name, String field, Object value) {
    edit(name, r -> {
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = (Map<String, Object>) r.getAdditionalProperties()
          .computeIfAbsent("spec", k -> new LinkedHashMap<>());
      spec.put(field, value);
      return r;
    });
  }

  /** Adds a finalizer, so that a delete only sets the deletionTimestamp. */
  public void addFinalizer(String name, String finalizer) {
    edit(name, r -> {
      r.getMetadata().getFinalizers().add(finalizer);
      return r;
    });
  }

  public void removeFinalizers(String name) {
    edit(name, r -> {
      r.getMetadata().setFinalizers(List.of());
      return r;
    });
  }

  /** Edits the object as an operator would: again on a conflict with the controller's writes. */
  private void edit(String name, UnaryOperator<GenericKubernetesResource> change) {
    for (int attempt = 0; ; attempt++) {
      try {
        client.genericKubernetesResources(EngineInformer.CONTEXT).withName(name).edit(change);
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt > 20) {
          throw e;
        }
      }
    }
  }

  public void delete(String name) {
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName(name).delete();
  }

  /**
   * Deletes every object and Lease this fixture wrote, one by one (finalizers first), for the
   * next test.
   */
  public void deleteAll() {
    for (String name : written) {
      if (get(name) != null) {
        removeFinalizers(name);
        delete(name);
      }
      client.leases().inNamespace(NAMESPACE).withName(EngineDirectory.LEASE_PREFIX + name)
          .delete();
    }
    written.clear();
  }

  public GenericKubernetesResource get(String name) {
    return client.genericKubernetesResources(EngineInformer.CONTEXT).withName(name).get();
  }

  /** Leases renewed in the background, as running engines renew theirs. */
  public final class Renewals implements AutoCloseable {
    private final Map<String, String> leases = new java.util.concurrent.ConcurrentHashMap<>();
    private final Duration duration;
    private final Thread thread;

    private Renewals(Duration period, Duration duration) {
      this.duration = duration;
      thread = Thread.ofPlatform().daemon().name("lease-renewer").start(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          try {
            leases.forEach((name, incarnation) -> renew(name, incarnation, duration));
          } catch (RuntimeException e) {
            System.err.println("lease renewal failed, retried: " + e);
          }
          try {
            Thread.sleep(period.toMillis());
          } catch (InterruptedException e) {
            return;
          }
        }
      });
    }

    /** Renews {@code name}'s Lease as {@code incarnation} from now on. */
    public void keep(String name, String incarnation) {
      renew(name, incarnation, duration);
      leases.put(name, incarnation);
    }

    /** Stops renewing {@code name}'s Lease (its engine died). */
    public void stop(String name) {
      leases.remove(name);
    }

    @Override
    public void close() throws InterruptedException {
      thread.interrupt();
      thread.join();
    }
  }

  /** Renews the Leases handed to it every {@code period}, each with {@code duration}. */
  public Renewals renewEvery(Duration period, Duration duration) {
    return new Renewals(period, duration);
  }

  /** Waits up to {@code timeout} for {@code condition}. */
  public static void await(BooleanSupplier condition, Duration timeout, String what) {
    Awaitility.await(what).atMost(timeout).pollInterval(POLL).until(condition::getAsBoolean);
  }

  /**
   * Checks {@code condition} holds for all of {@code period} (a thing that must not happen does
   * not), failing as soon as it does not.
   */
  public static void holds(BooleanSupplier condition, Duration period, String what) {
    Awaitility.await(what).during(period).atMost(period.plus(HOLD_SLACK)).pollInterval(POLL)
        .until(condition::getAsBoolean);
  }
}
