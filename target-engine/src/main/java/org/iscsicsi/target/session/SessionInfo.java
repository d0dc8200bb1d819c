package org.iscsicsi.target.session;

import java.util.List;

/** A snapshot of one session, for the admin API and metrics. */
public record SessionInfo(String targetName, String initiatorName, long isid, int tsih,
    boolean discovery, boolean readOnly, List<ConnectionInfo> connections,
    SessionCounters counters) {

  /** One TCP connection of a session. */
  public record ConnectionInfo(int cid, String remoteAddress, String localAddress,
      boolean headerDigest, boolean dataDigest) {
  }

  /** Counters named like open-iscsi's {@code iscsiadm -m session --stats}. */
  public record SessionCounters(long txdataOctets, long rxdataOctets, long scsicmdPdus,
      long dataoutPdus, long r2tPdus, long digestErrors, long timeouts) {
  }
}
