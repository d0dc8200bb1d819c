package org.iscsicsi.target.engine;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.csi.UnixSocketServers;
import org.iscsicsi.target.admin.ReloadingTls;
import org.iscsicsi.target.admin.SocketDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's network listener: a unix socket of mode 0600 in a directory only the engine's
 * user may change, or TCP, with mutual TLS unless it is bound to loopback only.
 */
final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  private final AdminListener listener;
  private final Server server;
  private final EventLoopGroup group;
  private final ReloadingTls tls;

  private AdminServer(AdminListener listener, Server server, EventLoopGroup group,
      ReloadingTls tls) {
    this.listener = listener;
    this.server = server;
    this.group = group;
    this.tls = tls;
  }

  /** Starts listening; null for {@link AdminAddress.None}. */
  static AdminServer start(AdminListener listener, ServerServiceDefinition... services)
      throws IOException {
    return switch (listener.address()) {
      case AdminAddress.None n -> null;
      case AdminAddress.At(Endpoint.Unix u) -> startUnix(listener, u, services);
      case AdminAddress.At(Endpoint.Tcp t) -> startTcp(listener, t, services);
    };
  }

  private static AdminServer startUnix(AdminListener listener, Endpoint.Unix u,
      ServerServiceDefinition... services) throws IOException {
    SocketDirectory.prepare(u.path());
    UnixSocketServers.Bound bound = UnixSocketServers.builder(u.path(), 1);
    EventLoopGroup group = bound.group();
    try {
      Server server = withServices(bound.builder(), listener, services).build().start();
      AdminServer admin = new AdminServer(listener, server, group, null);
      try {
        SocketDirectory.restrict(u.path());
      } catch (IOException e) {
        admin.close();
        throw e;
      }
      return admin;
    } catch (IOException | RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  private static AdminServer startTcp(AdminListener listener, Endpoint.Tcp t,
      ServerServiceDefinition... services) throws IOException {
    HostPort where = new HostPort(t.host(), t.port());
    ServerCredentials credentials;
    ReloadingTls tls = null;
    if (listener.tls() != null) {
      tls = ReloadingTls.forServer(listener.tls(), listener.clientCns(), listener.tlsReload());
      credentials = tls.serverCredentials();
    } else if (where.isLoopback()) {
      log.warn("admin API on {} without TLS: every local process can administer this engine; "
          + "prefer a unix socket (--admin unix:/path) or mutual TLS (--admin-tls-*)", where);
      credentials = InsecureServerCredentials.create();
    } else {
      throw new IllegalArgumentException("admin address " + where + " is reachable from other "
          + "hosts: give --admin-tls-cert, --admin-tls-key and --admin-tls-client-ca (mutual "
          + "TLS), bind it to 127.0.0.1, or use a unix socket (--admin unix:/path)");
    }
    NettyServerBuilder b = NettyServerBuilder.forAddress(
        new InetSocketAddress(t.host(), t.port()), credentials);
    try {
      return new AdminServer(listener, withServices(b, listener, services).build().start(), null,
          tls);
    } catch (IOException | RuntimeException e) {
      if (tls != null) {
        tls.close();
      }
      if (e instanceof IOException) {
        throw new IOException("cannot listen for the admin API on " + where + ": "
            + e.getMessage(), e);
      }
      throw e;
    }
  }

  private static NettyServerBuilder withServices(NettyServerBuilder b, AdminListener listener,
      ServerServiceDefinition... services) {
    for (ServerServiceDefinition service : services) {
      b.addService(service);
    }
    if (listener.reflection()) {
      b.addService(ProtoReflectionServiceV1.newInstance());
    }
    return b;
  }

  /** The TCP address bound (port 0 resolved), or null on a unix socket. */
  InetSocketAddress tcpAddress() {
    return listener.address() instanceof AdminAddress.At(Endpoint.Tcp _)
        ? (InetSocketAddress) server.getListenSockets().getFirst() : null;
  }

  String description() {
    return switch (listener.address()) {
      case AdminAddress.At(Endpoint.Tcp t) -> new HostPort(t.host(), tcpAddress().getPort())
          + (listener.tls() != null ? " (mutual TLS, client CN " + String.join(" or ",
              new java.util.TreeSet<>(listener.clientCns())) + ")" : " (plain, loopback)");
      default -> listener.address() + " (mode 0600)";
    };
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (tls != null) {
      tls.close();
    }
    if (listener.address() instanceof AdminAddress.At(Endpoint.Unix u)) {
      try {
        Files.deleteIfExists(u.path());
      } catch (IOException e) {
        log.warn("cannot remove admin socket {}: {}", u.path(), e.toString());
      }
    }
  }
}
