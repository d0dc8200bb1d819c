package org.iscsicsi.target.cli;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.v1.TargetAdminGrpc;

/** A short-lived connection from the CLI to an engine's admin API. */
final class AdminClient implements AutoCloseable {

  /** Calls give up after this long (snapshots of big LUNs may take a while). */
  static final long DEADLINE_SECONDS = 600;

  private final ManagedChannel channel;
  private final AdminAddress address;

  AdminClient(AdminAddress address) {
    this.address = address;
    this.channel = switch (address) {
      case AdminAddress.Unix u -> Grpc.newChannelBuilder("unix://" + u.path(),
          InsecureChannelCredentials.create()).build();
      case AdminAddress.Tcp t -> Grpc.newChannelBuilderForAddress(t.host(), t.port(),
          InsecureChannelCredentials.create()).build();
      case AdminAddress.None n -> throw new IllegalArgumentException(
          "--admin none: client commands need an address to reach the engine");
    };
  }

  TargetAdminGrpc.TargetAdminBlockingStub stub() {
    return TargetAdminGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  AdminAddress address() {
    return address;
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
