package org.iscsicsi.target.engine;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.target.admin.AdminTls;

/**
 * How the admin API is offered beyond the in-process channel.
 *
 * @param address where it listens (none, a unix socket, or TCP)
 * @param tls the engine's certificate and the CA of its clients; required for TCP on a
 *     non-loopback address, refused for a unix socket (its file mode is the access control)
 * @param reflection whether to serve gRPC server reflection (off by default: it lists every
 *     method to anyone who connects)
 * @param clientCns over TLS, the subject common names a client certificate may carry (default
 *     {@value #CONTROLLER_CN}: the controller's)
 * @param tlsReload how often the TLS files are checked for a change (new material is used for
 *     new connections)
 */
public record AdminListener(AdminAddress address, AdminTls tls, boolean reflection,
    Set<String> clientCns, Duration tlsReload) {

  /** The CN of the controller's client certificate (docs/pools.md, section 1). */
  public static final String CONTROLLER_CN = "controller";

  public static final Duration TLS_RELOAD = Duration.ofSeconds(10);

  public AdminListener {
    Objects.requireNonNull(address, "address");
    if (tls != null && !(address instanceof AdminAddress.At(Endpoint.Tcp _))) {
      throw new IllegalArgumentException("admin TLS applies to a TCP admin address, not to "
          + address);
    }
    clientCns = clientCns == null || clientCns.isEmpty() ? Set.of(CONTROLLER_CN)
        : Set.copyOf(clientCns);
    tlsReload = tlsReload == null ? TLS_RELOAD : tlsReload;
  }

  /** Only the controller's certificate, files checked every 10 s. */
  public AdminListener(AdminAddress address, AdminTls tls, boolean reflection) {
    this(address, tls, reflection, null, null);
  }

  /** Plain, without reflection: a unix socket, none, or TCP on loopback. */
  public static AdminListener of(AdminAddress address) {
    return new AdminListener(address, null, false);
  }

  /** The same listener accepting client certificates with these common names. */
  public AdminListener withClientCns(Set<String> cns) {
    return new AdminListener(address, tls, reflection, cns, tlsReload);
  }

  public AdminListener withTlsReload(Duration d) {
    return new AdminListener(address, tls, reflection, clientCns, d);
  }
}
