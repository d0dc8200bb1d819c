package org.iscsicsi.csi;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server the CO's sidecars talk to (CSI spec, "Plugin Discovery": a unix socket in
 * CSI_ENDPOINT), or a TCP port for remote use. A stale socket file from a killed predecessor is
 * replaced; the socket is removed again on shutdown. Shutdown is graceful: calls in flight get
 * a grace period before they are cancelled.
 */
public final class CsiServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CsiServer.class);

  /** Event-loop threads of a unix-socket server: CSI calls are few and short. */
  private static final int CSI_THREADS = 2;

  private final Server server;
  private final Endpoint endpoint;
  private final EventLoopGroup group;

  private CsiServer(Server server, Endpoint endpoint, EventLoopGroup group) {
    this.server = server;
    this.endpoint = endpoint;
    this.group = group;
  }

  /**
   * Binds {@code endpoint} and starts serving {@code services}. Every call is logged with its
   * secrets removed ({@link CallLogger}) and passes through {@code interceptors} (e.g. metrics).
   */
  public static CsiServer start(Endpoint endpoint, List<BindableService> services,
      ServerInterceptor... interceptors) throws IOException {
    NettyServerBuilder b;
    EventLoopGroup group = null;
    switch (endpoint) {
      case Endpoint.Unix u -> {
        Path path = u.path();
        Files.createDirectories(path.getParent());
        if (Files.exists(path)) {
          if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
              .isOther()) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
          }
          Files.delete(path);
        }
        UnixSocketServers.Bound bound = UnixSocketServers.builder(path, CSI_THREADS);
        group = bound.group();
        b = bound.builder();
      }
      case Endpoint.Tcp t -> b = NettyServerBuilder.forAddress(
          new InetSocketAddress(t.host(), t.port()));
    }
    List<ServerInterceptor> chain = new ArrayList<>(List.of(interceptors));
    chain.addFirst(new CallLogger());
    for (BindableService s : services) {
      b.addService(ServerInterceptors.intercept(s, chain));
    }
    b.addService(ProtoReflectionServiceV1.newInstance());
    Server server = b.build();
    try {
      server.start();
    } catch (IOException e) {
      if (group != null) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      throw new IOException("cannot listen on " + endpoint + ": " + e.getMessage(), e);
    }
    CsiServer s = new CsiServer(server, endpoint, group);
    log.info("CSI server listening on {}", s.endpoint());
    return s;
  }

  /** The endpoint actually bound (with the chosen port when 0 was asked). */
  public Endpoint endpoint() {
    if (endpoint instanceof Endpoint.Tcp t && server.getListenSockets().getFirst()
        instanceof InetSocketAddress a) {
      return new Endpoint.Tcp(t.host(), a.getPort());
    }
    return endpoint;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
      log.warn("calls still running after 10 s; cancelling them");
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (group != null) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
    if (endpoint instanceof Endpoint.Unix u) {
      try {
        Files.deleteIfExists(u.path());
      } catch (IOException e) {
        log.warn("could not remove socket {}", u.path(), e);
      }
    }
    log.info("CSI server on {} stopped", endpoint);
  }
}
