package org.iscsicsi.target.transfer;

import io.grpc.BindableService;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.function.BiConsumer;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineIdentity;
import org.iscsicsi.target.registry.TargetRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine's part in transfers: the replication listener receiving them
 * ({@link TransferSink}), the transfers it sends ({@link Transfers}), their shared slots and
 * bandwidth, and the admin service that drives them.
 */
public final class TransferService implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TransferService.class);

  /** How long a new connection may take to send its first frame. */
  static final Duration FIRST_FRAME = Duration.ofSeconds(10);

  private final ReplicationNetwork network;
  private final Transfers transfers;
  private final TransferAdminService admin;

  private TransferService(ReplicationNetwork network, Transfers transfers) {
    this.network = network;
    this.transfers = transfers;
    this.admin = new TransferAdminService(transfers);
  }

  /**
   * Starts the listener when {@code settings} names one, after removing what unfinished
   * transfers left; without settings the engine neither sends nor receives.
   */
  public static TransferService start(TargetRegistry registry, EngineIdentity engine,
      ReplicationSettings settings) throws IOException {
    return start(registry, engine, settings, null);
  }

  /**
   * As {@link #start(TargetRegistry, EngineIdentity, ReplicationSettings)}, the listener also
   * handing replica streams to {@code replicas} (null: they are refused).
   */
  public static TransferService start(TargetRegistry registry, EngineIdentity engine,
      ReplicationSettings settings, BiConsumer<FrameChannel, String> replicas)
      throws IOException {
    if (settings == null) {
      return new TransferService(null, null);
    }
    Semaphore slots = new Semaphore(settings.maxTransfers(), true);
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(settings.tls()));
    try {
      if (settings.listen() != null) {
        TransferSink sink = new TransferSink(registry, engine, slots);
        sink.clearStaging();
        InetSocketAddress bound = network.listen(settings.listen(),
            (ch, subject) -> route(ch, subject, sink, replicas));
        log.info("replication port on {} (mutual TLS 1.3, CN {}), transfers at most {} at "
            + "once, {} bytes/s", bound, ReplicationTls.ENGINE_CN, settings.maxTransfers(),
            settings.bandwidthBytesPerSecond());
      }
    } catch (IOException | RuntimeException e) {
      network.close();
      throw e;
    }
    return new TransferService(network, new Transfers(registry, engine, network,
        new Bandwidth(settings.bandwidthBytesPerSecond()), slots));
  }

  /**
   * One port serves transfers and replica streams; the first frame tells them apart: a replica
   * stream's HELLO carries its epoch (at least 1), a transfer's HELLO epoch 0.
   */
  private static void route(FrameChannel ch, String subject, TransferSink sink,
      BiConsumer<FrameChannel, String> replicas) {
    Optional<Frame> first;
    try {
      first = ch.peek(FIRST_FRAME);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ch.close();
      return;
    }
    boolean replica = first.filter(f -> f.type() == FrameType.HELLO && f.epoch() >= 1)
        .isPresent();
    if (!replica) {
      sink.serve(ch, subject);
    } else if (replicas != null) {
      replicas.accept(ch, subject);
    } else {
      ch.refuse("this engine holds no replicated LUNs");
    }
  }

  /** The dialling side of the replication port, or null when the engine has none. */
  public ReplicationNetwork network() {
    return network;
  }

  public BindableService grpc() {
    return admin;
  }

  /** host:port of the replication listener, "" when there is none. */
  public String address() {
    InetSocketAddress a = network == null ? null : network.address();
    return a == null ? "" : new HostPort(a.getAddress().getHostAddress(), a.getPort()).toString();
  }

  @Override
  public void close() {
    if (transfers != null) {
      transfers.cancelAll();
    }
    if (network != null) {
      network.close();
    }
  }
}
