package org.iscsicsi.target.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.kube.RegistrationSettings;
import picocli.CommandLine.Option;

/** {@code serve}'s options for registering the engine in Kubernetes (docs/pools.md, 2). */
final class KubernetesOptions {

  /** Each API call gives up after this long; the registration retries with backoff. */
  private static final Duration API_TIMEOUT = Duration.ofSeconds(5);

  @Option(names = "--kubernetes",
      description = "Register in Kubernetes: IscsiEngine/NAME, Lease/iscsi-engine-NAME, "
          + "status.report (needs --node and --namespace).")
  boolean enabled;

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "${env:POD_NAMESPACE}",
      description = "Namespace of the engine's Lease (default $POD_NAMESPACE).")
  String namespace;

  @Option(names = "--topology-keys", paramLabel = "K1,K2", split = ",",
      description = "Node labels reported as the engine's topology.")
  List<String> topologyKeys = new ArrayList<>();

  @Option(names = "--admin-advertise", paramLabel = "HOST:PORT",
      description = "Admin API address reported to the controller (default: the TCP admin "
          + "address, its wildcard host replaced by the first --advertise host).")
  String adminAdvertise;

  /** Checks the options before the engine starts; {@code node} may be null. */
  void check(String node) {
    if (!enabled) {
      return;
    }
    RegistrationSettings.requireNodeAndNamespace(node, namespace);
    if (adminAdvertise != null) {
      HostPort.parse(adminAdvertise, -1);
    }
  }

  /** A client configured from the pod's service account (or a kubeconfig outside a pod). */
  KubernetesClient client() {
    Config config = Config.autoConfigure(null);
    config.setRequestTimeout((int) API_TIMEOUT.toMillis());
    config.setConnectionTimeout((int) API_TIMEOUT.toMillis());
    config.setRequestRetryBackoffLimit(0); // EngineRegistration retries with its own backoff
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  RegistrationSettings settings(TargetEngine engine, List<HostPort> advertised) {
    var id = engine.identity();
    return RegistrationSettings.of(id.name(), id.incarnation(), id.node(), namespace,
        topologyKeys, adminAddress(engine.adminTcpAddress(), advertised));
  }

  private String adminAddress(InetSocketAddress bound, List<HostPort> advertised) {
    if (adminAdvertise != null) {
      return HostPort.parse(adminAdvertise, -1).toString();
    }
    if (bound == null) {
      return "";
    }
    String host = bound.getAddress().isAnyLocalAddress() && !advertised.isEmpty()
        ? advertised.getFirst().host() : bound.getAddress().getHostAddress();
    return new HostPort(host, bound.getPort()).toString();
  }
}
