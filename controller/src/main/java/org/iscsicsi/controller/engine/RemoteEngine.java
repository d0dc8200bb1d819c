package org.iscsicsi.controller.engine;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminChannel;

/**
 * A channel to a target engine in another process ({@link AdminChannel}): a unix socket as it is;
 * TCP with mutual TLS (the controller's certificate, the engines' CA), or plain only to a loopback
 * address, which is all an engine itself accepts without TLS.
 */
public final class RemoteEngine implements AutoCloseable {

  /** The controller's options for the files of {@link AdminTls}. */
  public static final String TLS_FLAGS =
      "--engine-tls-cert, --engine-tls-key and --engine-tls-ca";

  /** The DNS name every pool engine's certificate carries, whatever address it is dialled at. */
  public static final String POOL_SERVER_NAME = "engine.iscsi.csi.iscsicsi.org";

  private final ManagedChannel channel;
  private final Endpoint endpoint;

  private RemoteEngine(ManagedChannel channel, Endpoint endpoint) {
    this.channel = channel;
    this.endpoint = endpoint;
  }

  /** A plain channel: a unix socket, or TCP on loopback. */
  public static RemoteEngine connect(Endpoint endpoint) throws IOException {
    return connect(endpoint, null);
  }

  /**
   * @param tls the controller's client certificate and the CA engines' certificates chain to;
   *     applies to TCP engines (null: plain, loopback only)
   * @throws IllegalArgumentException for plain TCP to an address other hosts could answer on
   * @throws IOException when a TLS file is missing or its key is readable by others
   */
  public static RemoteEngine connect(Endpoint endpoint, AdminTls tls) throws IOException {
    return new RemoteEngine(AdminChannel.open(new AdminAddress.At(endpoint), tls, TLS_FLAGS),
        endpoint);
  }

  /**
   * The channels of pool mode: mutual TLS to the address an engine reports, verifying that the
   * engine's certificate names {@link #POOL_SERVER_NAME} (engines are dialled by node IP, which
   * their certificate does not carry).
   */
  public static EngineChannels poolChannels(AdminTls tls) {
    java.util.Objects.requireNonNull(tls, "pool mode needs " + TLS_FLAGS);
    return adminAddress -> {
      HostPort where = HostPort.parse(adminAddress, -1);
      return Grpc.newChannelBuilderForAddress(where.host(), where.port(),
          tls.channelCredentials()).overrideAuthority(POOL_SERVER_NAME).build();
    };
  }

  public ManagedChannel channel() {
    return channel;
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "remote engine at " + endpoint;
  }
}
