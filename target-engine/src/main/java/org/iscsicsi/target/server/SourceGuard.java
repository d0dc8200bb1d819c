package org.iscsicsi.target.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.iscsicsi.target.login.LoginStatus;
import org.iscsicsi.target.session.LoginGate;
import org.iscsicsi.target.session.SourceAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The portal's per-source admission: connections per address (checked as each is accepted, by
 * {@link #handler()}), discovery sessions per address and in total, and the backoff after failed
 * authentications ({@link FailureBackoff}). Thread-safe; one per portal.
 */
public final class SourceGuard implements LoginGate {

  private static final Logger LOG = LoggerFactory.getLogger(SourceGuard.class);
  private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("sourceCounted");

  private final SourceCounter connections;
  private final SourceCounter discovery;
  private final FailureBackoff backoff;
  private final LongAdder refusedConnections = new LongAdder();
  private final LongAdder backedOffLogins = new LongAdder();
  private final Handler handler = new Handler();

  public SourceGuard(AdmissionLimits limits) {
    this(limits, System::nanoTime);
  }

  SourceGuard(AdmissionLimits limits, LongSupplier nanoClock) {
    this.connections = new SourceCounter(limits.connectionsPerSource(), Integer.MAX_VALUE);
    this.discovery = new SourceCounter(limits.discoverySessionsPerSource(),
        limits.discoverySessions());
    this.backoff = new FailureBackoff(limits, nanoClock);
  }

  /** The first handler of every accepted channel: counts it, or closes it when over the limit. */
  ChannelHandler handler() {
    return handler;
  }

  @Override
  public boolean admitLogin(InetAddress source) {
    if (source == null || backoff.blockedForNanos(source) == 0) {
      return true;
    }
    backedOffLogins.increment();
    return false;
  }

  @Override
  public void loginFinished(InetAddress source, LoginStatus status) {
    if (source != null && status == LoginStatus.AUTHENTICATION_FAILURE) {
      backoff.failed(source);
    }
  }

  @Override
  public boolean reserveDiscovery(InetAddress source) {
    return source == null || discovery.acquire(source);
  }

  @Override
  public void releaseDiscovery(InetAddress source) {
    if (source != null) {
      discovery.release(source);
    }
  }

  /** Connections closed on accept because their address had too many. */
  public long refusedConnections() {
    return refusedConnections.sum();
  }

  /** Logins refused because their address was backing off. */
  public long backedOffLogins() {
    return backedOffLogins.sum();
  }

  /** Discovery sessions open now. */
  public int discoverySessions() {
    return discovery.total();
  }

  /** Addresses whose failures are remembered. */
  public int trackedSources() {
    return backoff.trackedSources();
  }

  @ChannelHandler.Sharable
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      InetAddress source = SourceAddress.of(ctx.channel().remoteAddress());
      if (source != null) {
        if (!connections.acquire(source)) {
          refusedConnections.increment();
          LOG.debug("closing connection from {}: too many from that address", source);
          ctx.close();
          return;
        }
        ctx.channel().attr(COUNTED).set(source);
      }
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      InetAddress source = ctx.channel().attr(COUNTED).getAndSet(null);
      if (source != null) {
        connections.release(source);
      }
      super.channelInactive(ctx);
    }
  }
}
