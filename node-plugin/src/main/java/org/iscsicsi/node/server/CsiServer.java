package org.iscsicsi.node.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server kubelet talks to. On a unix socket it uses netty's epoll domain-socket channel
 * (a stale socket file from a previous run is removed first); on TCP the default transport.
 */
public final class CsiServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CsiServer.class);

  private final Server server;
  private final EventLoopGroup group;
  private final Endpoint endpoint;

  private CsiServer(Server server, EventLoopGroup group, Endpoint endpoint) {
    this.server = server;
    this.group = group;
    this.endpoint = endpoint;
  }

  public static CsiServer start(Endpoint endpoint, List<BindableService> services)
      throws IOException {
    NettyServerBuilder b;
    EventLoopGroup group = null;
    switch (endpoint) {
      case Endpoint.Unix u -> {
        Files.createDirectories(u.path().getParent());
        Files.deleteIfExists(u.path());
        group = new EpollEventLoopGroup(2);
        b = NettyServerBuilder.forAddress(new DomainSocketAddress(u.path().toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(group).workerEventLoopGroup(group);
      }
      case Endpoint.Tcp t -> b = NettyServerBuilder.forAddress(
          new InetSocketAddress(t.host(), t.port()));
    }
    services.forEach(b::addService);
    Server s = b.build().start();
    LOG.info("CSI server listening on {}", endpoint);
    return new CsiServer(s, group, endpoint);
  }

  /** The bound TCP port (for port 0), or -1 on a unix socket. */
  public int port() {
    return endpoint instanceof Endpoint.Tcp ? server.getPort() : -1;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() throws InterruptedException, IOException {
    server.shutdown();
    if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    if (endpoint instanceof Endpoint.Unix u) {
      Files.deleteIfExists(u.path());
    }
  }
}
