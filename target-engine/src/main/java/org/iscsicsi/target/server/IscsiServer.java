package org.iscsicsi.target.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.login.LoginStateMachine;
import org.iscsicsi.target.pdu.IscsiPduDecoder;
import org.iscsicsi.target.pdu.IscsiPduEncoder;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.session.ConnectionConfig;
import org.iscsicsi.target.session.IscsiConnection;
import org.iscsicsi.target.session.SessionRegistry;
import org.iscsicsi.target.session.SessionTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iSCSI portal (RFC 7143): a netty server (epoll when available, NIO otherwise) whose
 * connections log in to the targets of a {@link TargetDirectory}. Lifecycle: construct, {@link
 * #start()}, {@link #close()}.
 */
public final class IscsiServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(IscsiServer.class);

  private final IscsiServerConfig config;
  private final TargetDirectory directory;
  private final SessionTable sessions = new SessionTable();
  private final SecureRandom random = new SecureRandom();
  private final SourceGuard guard;
  private EventLoopGroup group;
  private Channel serverChannel;

  public IscsiServer(IscsiServerConfig config, TargetDirectory directory) {
    this.config = config;
    this.directory = directory;
    this.guard = new SourceGuard(config.admission());
    // fail fast on bad login defaults rather than at the first login
    LoginStateMachine.defaultsWith(config.loginDefaults());
  }

  /**
   * Binds the portal and starts accepting connections.
   *
   * @throws IllegalStateException when already started
   * @throws InterruptedException when interrupted while binding
   * @throws java.io.UncheckedIOException wrapping the BindException when the address is in use
   */
  public synchronized void start() throws InterruptedException {
    if (group != null) {
      throw new IllegalStateException("already started");
    }
    boolean epoll = config.nativeTransport() && Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channelType =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    group = new MultiThreadIoEventLoopGroup(io);
    ConnectionConfig connectionConfig = new ConnectionConfig(
        LoginStateMachine.defaultsWith(config.loginDefaults()), config.advertisedPortals(),
        config.loginTimeout(), config.nopInterval(), config.commandWindow(),
        config.loginPolicy());
    int maxRecv = Integer.parseInt(
        LoginStateMachine.defaultsWith(config.loginDefaults()).get("MaxRecvDataSegmentLength"));
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(channelType)
        .option(ChannelOption.SO_BACKLOG, 256)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // target-declared MaxRecvDataSegmentLength: accept up to the largest a target may
            // configure; the connection narrows it once login completes
            IscsiPduDecoder decoder = new IscsiPduDecoder(Math.max(maxRecv, 65536));
            IscsiPduEncoder encoder = new IscsiPduEncoder();
            long nop = config.nopInterval().toMillis();
            if (nop > 0) {
              ch.pipeline().addLast("idle", new IdleStateHandler(nop, 0, 0,
                  TimeUnit.MILLISECONDS));
            }
            ch.pipeline().addLast("source", guard.handler());
            ch.pipeline().addLast("decoder", decoder).addLast("encoder", encoder)
                .addLast("iscsi", new IscsiConnection(directory, sessions, connectionConfig,
                    decoder, encoder, random, guard));
          }
        });
    try {
      serverChannel = b.bind(config.bindHost(), config.port()).sync().channel();
    } catch (Exception e) { // netty rethrows a BindException without declaring it
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      group = null;
      if (e instanceof InterruptedException | e instanceof RuntimeException) {
        throw e;
      }
      String where = config.bindHost() + ":" + config.port();
      throw e instanceof java.io.IOException bindError
          ? new java.io.UncheckedIOException("cannot listen on " + where + ": "
              + bindError.getMessage(), bindError)
          : new IllegalStateException("cannot listen on " + where, e);
    }
    log.info("iSCSI portal listening on {} ({})", serverChannel.localAddress(),
        epoll ? "epoll" : "nio");
  }

  /** The port actually bound (useful with port 0). */
  public int boundPort() {
    return boundAddress().getPort();
  }

  /** The address actually bound. */
  public InetSocketAddress boundAddress() {
    if (serverChannel == null) {
      throw new IllegalStateException("not started");
    }
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** The portals SendTargets reports (empty: each connection's local address). */
  public List<String> advertisedPortals() {
    return config.advertisedPortals();
  }

  /** The live sessions, for the admin API. */
  public SessionRegistry sessionRegistry() {
    return sessions;
  }

  /** Stops accepting, ends every session and releases the event loops. Idempotent. */
  @Override
  public synchronized void close() {
    if (group == null) {
      return;
    }
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    sessions.closeAll();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    group = null;
    serverChannel = null;
  }
}
