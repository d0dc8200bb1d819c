package org.iscsicsi.target.engine;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;

/**
 * A client's channel to an engine's admin API (the CLI's, a controller's): a unix socket as it
 * is, TCP with mutual TLS, plain TCP only to a loopback address, which is all an engine serves
 * without TLS.
 */
public final class AdminChannel {

  private AdminChannel() {
  }

  /**
   * @param tls the client's certificate and the engines' CA; used for TCP (null: plain)
   * @param tlsFlags how the caller's user gives the TLS files, for the error message
   * @throws IllegalArgumentException for {@code none}, or plain TCP to a non-loopback address
   * @throws IOException when a TLS file is missing or its key is open to other users
   */
  public static ManagedChannel open(AdminAddress address, AdminTls tls, String tlsFlags)
      throws IOException {
    return switch (address) {
      case AdminAddress.At(Endpoint.Unix u) -> Grpc.newChannelBuilder("unix://" + u.path(),
          InsecureChannelCredentials.create()).build();
      case AdminAddress.At(Endpoint.Tcp t) -> Grpc.newChannelBuilderForAddress(t.host(), t.port(),
          credentials(new HostPort(t.host(), t.port()), tls, tlsFlags)).build();
      case AdminAddress.None n -> throw new IllegalArgumentException(
          "admin address none: a client needs an address to reach the engine");
    };
  }

  private static ChannelCredentials credentials(HostPort where, AdminTls tls, String tlsFlags)
      throws IOException {
    if (tls != null) {
      return tls.channelCredentials();
    }
    if (!where.isLoopback()) {
      throw new IllegalArgumentException("admin address " + where + " is not loopback: "
          + "mutual TLS needed, give " + tlsFlags);
    }
    return InsecureChannelCredentials.create();
  }
}
