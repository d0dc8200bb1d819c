package org.iscsicsi.target.cli;

import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminChannel;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetReplicationGrpc;

/**
 * A short-lived connection from the CLI to an engine's admin API: a unix socket as it is, TCP
 * with mutual TLS when client certificate files are given, plain TCP only to loopback.
 */
final class AdminClient implements AutoCloseable {

  /** Calls give up after this long (snapshots of big LUNs may take a while). */
  static final long DEADLINE_SECONDS = 600;

  private final ManagedChannel channel;

  private AdminClient(ManagedChannel channel) {
    this.channel = channel;
  }

  /**
   * @param tls client certificate, key and the engines' CA; used for TCP only (null: plain,
   *     which only a loopback address allows)
   */
  static AdminClient connect(AdminAddress address, AdminTls tls) {
    if (address instanceof AdminAddress.None) {
      throw new IllegalArgumentException(
          "--admin none: client commands need an address to reach the engine");
    }
    try {
      return new AdminClient(AdminChannel.open(address, tls, ClientCommand.TLS_FLAGS + " (or $"
          + ClientCommand.CERT_ENV + ", $" + ClientCommand.KEY_ENV + ", $" + ClientCommand.CA_ENV
          + ")"));
    } catch (IOException e) {
      throw new TargetEngineCli.CliException("admin TLS: " + e.getMessage());
    }
  }

  TargetAdminGrpc.TargetAdminBlockingStub stub() {
    return TargetAdminGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  TargetReplicationGrpc.TargetReplicationBlockingStub replication() {
    return TargetReplicationGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
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
