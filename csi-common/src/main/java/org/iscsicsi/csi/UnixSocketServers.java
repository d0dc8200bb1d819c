package org.iscsicsi.csi;

import io.grpc.InsecureServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;

/**
 * The one place that builds a gRPC server on a unix domain socket (the CSI endpoint, the engine's
 * admin socket): netty's epoll transport, the only one grpc-netty-shaded offers for unix sockets
 * on Linux, with an event loop of its own that the caller shuts down after the server. Callers
 * prepare the socket's directory themselves: the CSI socket and the admin socket have different
 * rules for it.
 */
public final class UnixSocketServers {

  /** A builder listening on a socket, and the event loop its server runs on. */
  public record Bound(NettyServerBuilder builder, EventLoopGroup group) {}

  private UnixSocketServers() {}

  /**
   * A server builder for {@code socket}, without TLS (file permissions guard a unix socket), on
   * an event loop of {@code threads} threads that accepts and serves connections.
   */
  public static Bound builder(Path socket, int threads) {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    NettyServerBuilder b = NettyServerBuilder.forAddress(
            new DomainSocketAddress(socket.toString()), InsecureServerCredentials.create())
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group)
        .workerEventLoopGroup(group);
    return new Bound(b, group);
  }
}
