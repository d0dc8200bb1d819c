package org.iscsicsi.target.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
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

  private static final Logger log = LoggerFactory.getLogger(SourceGuard.class);
  private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("sourceCounted");

  private final SourceCounter connections;
  private final SourceCounter discovery;
  private final FailureBackoff backoff;
  private final RefusalLog refusals = new RefusalLog();
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
    return source == null || backoff.blockedForNanos(source) == 0;
  }

  @Override
  public void credentialRejected(InetAddress source) {
    if (source != null) {
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

  @ChannelHandler.Sharable
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      InetAddress source = SourceAddress.of(ctx.channel().remoteAddress());
      if (source != null) {
        if (!connections.acquire(source)) {
          refusals.refused(source);
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

  /** Logs refused connections at most once a second, with how many there were meanwhile. */
  private static final class RefusalLog {
    private static final long INTERVAL_NANOS = 1_000_000_000L;
    private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);
    private final AtomicLong unlogged = new AtomicLong();

    void refused(InetAddress source) {
      long count = unlogged.incrementAndGet();
      long now = System.nanoTime();
      long last = lastLogged.get();
      if (now - last >= INTERVAL_NANOS && lastLogged.compareAndSet(last, now)) {
        unlogged.addAndGet(-count);
        log.info("closed {} connection(s) over the per-source limit (latest from {})", count,
            source.getHostAddress());
      }
    }
  }
}
