package org.iscsicsi.controller.engine;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.Endpoint;

/** A channel to a target engine in another process, over TCP or a unix socket. */
public final class RemoteEngine implements AutoCloseable {

  private final ManagedChannel channel;
  private final Endpoint endpoint;

  private RemoteEngine(ManagedChannel channel, Endpoint endpoint) {
    this.channel = channel;
    this.endpoint = endpoint;
  }

  public static RemoteEngine connect(Endpoint endpoint) {
    String target = switch (endpoint) {
      case Endpoint.Unix u -> "unix://" + u.path();
      case Endpoint.Tcp t -> (t.host().contains(":") ? "[" + t.host() + "]" : t.host())
          + ":" + t.port();
    };
    ManagedChannel ch = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
        .build();
    return new RemoteEngine(ch, endpoint);
  }

  public ManagedChannel channel() {
    return channel;
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "remote engine at " + endpoint;
  }
}
