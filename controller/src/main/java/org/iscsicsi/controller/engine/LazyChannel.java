package org.iscsicsi.controller.engine;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;

/**
 * A pool engine's admin channel, opened at its first call (a directory of many engines keeps
 * channels only to engines it talks to) and closed when the engine leaves or reports another
 * address. Opening builds a channel and reads the TLS files; it never waits for the network.
 */
final class LazyChannel extends Channel implements AutoCloseable {

  private final String engine;
  private final String address;
  private final EngineChannels channels;
  private ManagedChannel channel; // guarded by this
  private boolean closed; // guarded by this

  LazyChannel(String engine, String address, EngineChannels channels) {
    this.engine = engine;
    this.address = address;
    this.channels = channels;
  }

  String address() {
    return address;
  }

  @Override
  public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
    return open().newCall(method, options);
  }

  @Override
  public String authority() {
    return address.isEmpty() ? engine : address;
  }

  private synchronized ManagedChannel open() {
    if (closed) {
      throw Status.UNAVAILABLE.withDescription("engine " + engine + " at " + address
          + ": channel closed (the engine left the pool or reports another address)")
          .asRuntimeException();
    }
    if (address.isEmpty()) {
      throw Status.UNAVAILABLE.withDescription("engine " + engine
          + " reports no admin address yet").asRuntimeException();
    }
    if (channel == null) {
      try {
        channel = channels.open(address);
      } catch (IOException | IllegalArgumentException e) {
        throw Status.UNAVAILABLE.withDescription("engine " + engine + " at " + address + ": "
            + e.getMessage()).withCause(e).asRuntimeException();
      }
    }
    return channel;
  }

  /** Lets calls in flight finish and refuses new ones. */
  @Override
  public synchronized void close() {
    closed = true;
    if (channel != null) {
      channel.shutdown();
    }
  }

  @Override
  public String toString() {
    return "admin channel of engine " + engine + " at " + address;
  }
}
