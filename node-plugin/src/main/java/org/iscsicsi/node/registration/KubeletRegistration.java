package org.iscsicsi.node.registration;

import io.grpc.BindableService;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.InfoRequest;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.PluginInfo;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.RegistrationStatus;
import org.iscsicsi.kubelet.pluginregistration.v1.PluginRegistration.RegistrationStatusResponse;
import org.iscsicsi.kubelet.pluginregistration.v1.RegistrationGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node plugin's side of kubelet's plugin registration (what node-driver-registrar does for
 * other drivers): a unix socket {@code <driver>-reg.sock} in kubelet's plugins_registry directory
 * serving {@code pluginregistration.Registration}. kubelet's plugin watcher finds the socket, asks
 * {@link #getInfo} for the driver's name, CSI socket and versions, registers the driver (its
 * NodeGetInfo becomes the Node's annotation and the CSINode entry) and reports the outcome, which
 * {@link #status()} keeps. Removing the socket ({@link #close()}) makes kubelet deregister it.
 */
public final class KubeletRegistration extends RegistrationGrpc.RegistrationImplBase
    implements AutoCloseable {

  /** PluginInfo.type of a CSI driver. */
  public static final String CSI_PLUGIN = "CSIPlugin";
  /** The CSI versions this plugin speaks, as kubelet's CSI handler parses them. */
  public static final List<String> VERSIONS = List.of("1.0.0");

  private static final Logger log = LoggerFactory.getLogger(KubeletRegistration.class);
  /** A CSI driver name (CSI spec: DNS-1123 subdomain-like, at most 63 characters). */
  private static final Pattern DRIVER = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?");

  /** kubelet's verdict, once it gave one. */
  public record Status(boolean registered, String error) {}

  private final String driver;
  private final Path csiSocket;
  private final AtomicReference<Status> status = new AtomicReference<>();
  private CsiServer server;

  /**
   * @param driver the CSI driver name kubelet registers
   * @param csiSocket the CSI socket as kubelet sees it (absolute)
   * @throws IllegalArgumentException for a bad driver name or a relative socket path
   */
  public KubeletRegistration(String driver, Path csiSocket) {
    if (!DRIVER.matcher(driver).matches()) {
      throw new IllegalArgumentException("not a CSI driver name: " + driver);
    }
    if (!csiSocket.isAbsolute()) {
      throw new IllegalArgumentException("the CSI socket path must be absolute: " + csiSocket);
    }
    this.driver = driver;
    this.csiSocket = csiSocket.normalize();
  }

  /** The registration socket's path in {@code registrationDir}: {@code <driver>-reg.sock}. */
  public Path socketIn(Path registrationDir) {
    return registrationDir.resolve(driver + "-reg.sock");
  }

  /**
   * Serves this service on {@link #socketIn registrationDir}'s socket (kubelet's
   * {@code plugins_registry}), replacing a stale socket of a predecessor.
   */
  public KubeletRegistration serve(Path registrationDir) throws IOException {
    server = CsiServer.start(new Endpoint.Unix(socketIn(registrationDir)),
        List.<BindableService>of(this));
    log.info("plugin registration for {} (CSI socket {}) on {}", driver, csiSocket,
        socketIn(registrationDir));
    return this;
  }

  @Override
  public void getInfo(InfoRequest request, StreamObserver<PluginInfo> response) {
    response.onNext(PluginInfo.newBuilder().setType(CSI_PLUGIN).setName(driver)
        .setEndpoint(csiSocket.toString()).addAllSupportedVersions(VERSIONS).build());
    response.onCompleted();
  }

  @Override
  public void notifyRegistrationStatus(RegistrationStatus request,
      StreamObserver<RegistrationStatusResponse> response) {
    Status s = new Status(request.getPluginRegistered(), request.getError());
    status.set(s);
    if (s.registered()) {
      log.info("kubelet registered driver {}", driver);
    } else {
      // kubelet does not retry on its own: a new registration needs the socket recreated, which
      // a restart of the plugin does (node-driver-registrar exits for the same reason)
      log.error("kubelet refused to register driver {}: {}", driver, s.error());
    }
    response.onNext(RegistrationStatusResponse.getDefaultInstance());
    response.onCompleted();
  }

  /** kubelet's verdict, or empty while it gave none. */
  public Optional<Status> status() {
    return Optional.ofNullable(status.get());
  }

  /** Stops serving and removes the socket. */
  @Override
  public void close() throws InterruptedException {
    if (server != null) {
      server.close();
    }
  }
}
