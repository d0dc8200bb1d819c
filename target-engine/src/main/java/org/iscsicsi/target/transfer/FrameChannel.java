package org.iscsicsi.target.transfer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;

/**
 * A replication connection seen from a thread that runs one side of a transfer: frames are sent
 * and awaited one by one (the protocol is a dialogue), received frames queue here, and reading
 * from the socket stops while {@value #HIGH_WATER} frames wait, so a peer that floods gets no
 * memory for it. A bad frame, a NACK, a closed connection or silence past the timeout ends the
 * dialogue with a {@link TransferException} saying which.
 */
public final class FrameChannel extends ChannelInboundHandlerAdapter implements AutoCloseable {

  static final int HIGH_WATER = 4;
  private static final Object CLOSED = new Object();

  private final LinkedBlockingDeque<Object> inbox = new LinkedBlockingDeque<>();
  private volatile Channel channel;
  private volatile String peer = "peer";

  /** Binds to the netty channel this handler sits on, naming the peer in messages. */
  void attach(Channel ch, String peerName) {
    this.channel = ch;
    this.peer = peerName;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    inbox.add(msg);
    if (inbox.size() >= HIGH_WATER) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    inbox.add(CLOSED);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    inbox.add(cause);
    ctx.close();
  }

  /** Sends a frame and waits until it is written to the socket. */
  public void send(Frame f) throws TransferException {
    Channel ch = channel;
    if (ch == null || !ch.isActive()) {
      throw new TransferException("connection to " + peer + " is closed");
    }
    var future = ch.writeAndFlush(f).awaitUninterruptibly();
    if (!future.isSuccess()) {
      throw new TransferException("sending " + f.type() + " to " + peer + " failed: "
          + future.cause(), future.cause());
    }
  }

  /** The next frame; a NACK, a bad frame, a close or {@code timeout} of silence throws. */
  public Frame receive(Duration timeout) throws TransferException, InterruptedException {
    Object next = inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    Channel ch = channel;
    if (ch != null && inbox.size() < HIGH_WATER && !ch.config().isAutoRead()) {
      ch.config().setAutoRead(true);
    }
    return switch (next) {
      case null -> throw new TransferException(peer + " sent nothing for " + timeout);
      case Frame f when f.type() == FrameType.NACK -> throw new TransferException(peer
          + " refused: " + new String(f.payload(), StandardCharsets.UTF_8));
      case Frame f -> f;
      case FrameDecoder.BadFrame b -> throw new TransferException(peer + " sent a bad frame: "
          + b.reason());
      case Throwable t -> throw new TransferException("connection to " + peer + " failed: "
          + t, t);
      default -> throw new TransferException("connection to " + peer + " closed");
    };
  }

  /**
   * The next frame, NACKs included (a replica stream's NACK carries a reason code and the seq it
   * refuses); a bad frame, a close or {@code timeout} of silence throws.
   */
  public Frame receiveReply(Duration timeout) throws TransferException, InterruptedException {
    Object next = inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    Channel ch = channel;
    if (ch != null && inbox.size() < HIGH_WATER && !ch.config().isAutoRead()) {
      ch.config().setAutoRead(true);
    }
    if (next instanceof Frame f) {
      return f;
    }
    if (next == null) {
      throw new TransferException(peer + " sent nothing for " + timeout);
    }
    inbox.add(next); // receive turns it into the exception that says why
    return receive(Duration.ZERO);
  }

  /**
   * The next frame without taking it (a listener that picks the connection's handler by its first
   * frame); empty on anything but a frame (a close, an error, silence past {@code timeout}), which
   * the handler's own receive then reports.
   */
  public java.util.Optional<Frame> peek(Duration timeout) throws InterruptedException {
    Object next = inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (next == null) {
      return java.util.Optional.empty();
    }
    inbox.addFirst(next);
    return next instanceof Frame f ? java.util.Optional.of(f) : java.util.Optional.empty();
  }

  /** Sends a frame without waiting for the socket write; failures reach {@code onFailure}. */
  public void sendAsync(Frame f, java.util.function.Consumer<Throwable> onFailure) {
    Channel ch = channel;
    if (ch == null || !ch.isActive()) {
      onFailure.accept(new TransferException("connection to " + peer + " is closed"));
      return;
    }
    ch.writeAndFlush(f).addListener(done -> {
      if (!done.isSuccess()) {
        onFailure.accept(done.cause());
      }
    });
  }

  /** Whether the connection is open. */
  public boolean isOpen() {
    Channel ch = channel;
    return ch != null && ch.isActive();
  }

  /** The next frame, which must be of {@code type}. */
  public Frame expect(FrameType type, Duration timeout)
      throws TransferException, InterruptedException {
    Frame f = receive(timeout);
    if (f.type() != type) {
      throw new TransferException(peer + " sent " + f.type() + " where " + type
          + " was expected");
    }
    return f;
  }

  /** Sends a NACK with the reason (best effort) and closes. */
  public void refuse(String reason) {
    Channel ch = channel;
    if (ch != null && ch.isActive()) {
      byte[] text = reason.getBytes(StandardCharsets.UTF_8);
      if (text.length > Frame.MAX_CONTROL_BYTES) {
        text = java.util.Arrays.copyOf(text, Frame.MAX_CONTROL_BYTES);
      }
      ch.writeAndFlush(Frame.of(FrameType.NACK, 0, 0, text)).awaitUninterruptibly(
          Duration.ofSeconds(5).toMillis());
    }
    close();
  }

  public String peer() {
    return peer;
  }

  @Override
  public void close() {
    Channel ch = channel;
    if (ch != null) {
      ch.close().awaitUninterruptibly(Duration.ofSeconds(5).toMillis());
    }
  }
}
