package org.iscsicsi.target.engine;

import java.util.Objects;
import org.iscsicsi.target.admin.AdminTls;

/**
 * How the admin API is offered beyond the in-process channel.
 *
 * @param address where it listens (none, a unix socket, or TCP)
 * @param tls the engine's certificate and the CA of its clients; required for TCP on a
 *     non-loopback address, refused for a unix socket (its file mode is the access control)
 * @param reflection whether to serve gRPC server reflection (off by default: it lists every
 *     method to anyone who connects)
 */
public record AdminListener(AdminAddress address, AdminTls tls, boolean reflection) {

  public AdminListener {
    Objects.requireNonNull(address, "address");
    if (tls != null && !(address instanceof AdminAddress.Tcp)) {
      throw new IllegalArgumentException("admin TLS applies to a TCP admin address, not to "
          + address);
    }
  }

  /** Plain, without reflection: a unix socket, none, or TCP on loopback. */
  public static AdminListener of(AdminAddress address) {
    return new AdminListener(address, null, false);
  }
}
