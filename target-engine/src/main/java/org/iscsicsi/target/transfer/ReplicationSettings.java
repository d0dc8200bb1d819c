package org.iscsicsi.target.transfer;

import java.util.Objects;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;

/**
 * How an engine takes part in transfers.
 *
 * @param listen where the replication port listens ({@code serve --replication}); null: this
 *     engine only sends
 * @param tls the engine's certificate and key, and the CA of the engines (mutual TLS, CN
 *     {@value ReplicationTls#ENGINE_CN} on both sides)
 * @param bandwidthBytesPerSecond the most this engine sends per second over all its transfers
 * @param maxTransfers transfers this engine runs at once, sending and receiving together
 */
public record ReplicationSettings(HostPort listen, AdminTls tls, long bandwidthBytesPerSecond,
    int maxTransfers) {

  public static final int PORT = 3263;
  public static final int MAX_TRANSFERS = 2;

  public ReplicationSettings {
    Objects.requireNonNull(tls, "replication needs TLS key material");
    if (bandwidthBytesPerSecond <= 0) {
      throw new IllegalArgumentException("--transfer-bandwidth must be positive");
    }
    if (maxTransfers <= 0) {
      throw new IllegalArgumentException("at least one transfer slot is needed");
    }
  }

  /** The defaults: 100 MiB/s, two transfers at once. */
  public static ReplicationSettings of(HostPort listen, AdminTls tls) {
    return new ReplicationSettings(listen, tls, Bandwidth.DEFAULT_BYTES_PER_SECOND,
        MAX_TRANSFERS);
  }

  public ReplicationSettings withBandwidth(long bytesPerSecond) {
    return new ReplicationSettings(listen, tls, bytesPerSecond, maxTransfers);
  }
}
