package org.iscsicsi.target.transfer;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.iscsicsi.csi.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sockets of the replication port: a listener that hands each connection whose peer proved
 * an engine's certificate to a handler on its own virtual thread, and the dialling side. Both
 * run TLS ({@link ReplicationTls}) below the frame codec; a peer whose handshake fails or whose
 * certificate is not an engine's is logged with the reason and disconnected before any frame is
 * read.
 */
public final class ReplicationNetwork implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicationNetwork.class);
  static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
      NioIoHandler.newFactory());
  private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
  private final ReplicationTls tls;
  private final SslContext clientContext;
  private Channel listener;

  public ReplicationNetwork(ReplicationTls tls) throws IOException {
    this.tls = tls;
    this.clientContext = tls.client();
  }

  /**
   * Listens on {@code where}; each authenticated connection runs {@code handler} (the frame
   * channel and the peer's certificate subject) on a virtual thread.
   */
  public InetSocketAddress listen(HostPort where, BiConsumer<FrameChannel, String> handler)
      throws IOException {
    SslContext server = tls.server();
    ServerBootstrap b = new ServerBootstrap().group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.AUTO_READ, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SslHandler ssl = server.newHandler(ch.alloc());
            ssl.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
            FrameChannel frames = new FrameChannel();
            ch.pipeline().addLast(ssl, new FrameDecoder(), new FrameEncoder(), frames);
            String remote = String.valueOf(ch.remoteAddress());
            ssl.handshakeFuture().addListener(done -> {
              if (!done.isSuccess()) {
                log.info("replication connection from {} refused in the TLS handshake: {}",
                    remote, done.cause().toString());
                ch.close();
                return;
              }
              String subject;
              try {
                subject = ReplicationTls.requireEngine(ssl.engine().getSession());
              } catch (TransferException e) {
                log.info("replication connection from {} refused: {}", remote, e.getMessage());
                frames.attach(ch, remote);
                handlers.execute(() -> frames.refuse(e.getMessage()));
                return;
              }
              frames.attach(ch, remote + " (" + subject + ")");
              handlers.execute(() -> handler.accept(frames, subject));
            });
          }
        });
    try {
      listener = b.bind(new InetSocketAddress(where.host(), where.port())).sync().channel();
    } catch (Exception e) {
      throw new IOException("cannot listen for replication on " + where + ": " + e.getMessage(),
          e);
    }
    return (InetSocketAddress) listener.localAddress();
  }

  /** Dials an engine's replication port; returns once TLS is up and the peer is an engine. */
  public FrameChannel dial(HostPort where, Duration timeout)
      throws TransferException, InterruptedException {
    FrameChannel frames = new FrameChannel();
    SslHandler[] ssl = new SslHandler[1];
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ssl[0] = clientContext.newHandler(ch.alloc(), where.host(), where.port());
            ssl[0].setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
            ch.pipeline().addLast(ssl[0], new FrameDecoder(), new FrameEncoder(), frames);
          }
        });
    var connect = b.connect(where.host(), where.port()).await();
    if (!connect.isSuccess()) {
      throw new TransferException("cannot connect to " + where + ": " + connect.cause(),
          connect.cause());
    }
    Channel ch = connect.channel();
    var handshake = ssl[0].handshakeFuture().await();
    if (!handshake.isSuccess()) {
      ch.close();
      throw new TransferException("TLS handshake with " + where + " failed: "
          + handshake.cause(), handshake.cause());
    }
    try {
      String subject = ReplicationTls.requireEngine(ssl[0].engine().getSession());
      frames.attach(ch, where + " (" + subject + ")");
    } catch (TransferException e) {
      ch.close();
      throw new TransferException("refusing " + where + ": " + e.getMessage());
    }
    return frames;
  }

  /** The bound address, or null when not listening. */
  public InetSocketAddress address() {
    return listener == null ? null : (InetSocketAddress) listener.localAddress();
  }

  @Override
  public void close() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    handlers.shutdownNow();
  }
}
