package org.iscsicsi.target.session;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.iscsicsi.target.login.LoginResult;
import org.iscsicsi.target.scsi.ItNexus;

/**
 * One logged-in session (RFC 7143 section 4.3). This target accepts one connection per session
 * (MaxConnections=1), so the session ends with its connection.
 */
public final class IscsiSession {

  private final int tsih;
  private final LoginResult login;
  private final ItNexus nexus;
  private final Channel channel;
  private final SessionCountersRecorder counters;
  private final AtomicBoolean ended = new AtomicBoolean();

  IscsiSession(int tsih, LoginResult login, Channel channel, SessionCountersRecorder counters) {
    this.tsih = tsih;
    this.login = login;
    this.channel = channel;
    this.counters = counters;
    this.nexus = login.discovery() ? null : new ItNexus(login.initiatorName(), login.isid(),
        login.target().name(), login.target().portalGroupTag(),
        login.access() == org.iscsicsi.target.acl.AccessLevel.READ_ONLY);
  }

  public int tsih() {
    return tsih;
  }

  public LoginResult login() {
    return login;
  }

  /** The I_T nexus, or null for a discovery session. */
  public ItNexus nexus() {
    return nexus;
  }

  SessionKey key() {
    return new SessionKey(login.initiatorName(), login.isid(),
        login.discovery() ? "" : login.target().name());
  }

  /**
   * Ends the session once: tells the SCSI layer the nexus is gone and closes the connection. Safe
   * from any thread; later calls do nothing.
   *
   * @return true when this call ended it
   */
  boolean end() {
    if (!ended.compareAndSet(false, true)) {
      return false;
    }
    if (nexus != null) {
      login.target().scsi().nexusLost(nexus);
    }
    channel.close();
    return true;
  }

  boolean ended() {
    return ended.get();
  }

  SessionInfo info() {
    var p = login.parameters();
    String remote = address(channel.remoteAddress());
    String local = address(channel.localAddress());
    return new SessionInfo(login.discovery() ? "" : login.target().name(), login.initiatorName(),
        login.isid(), tsih, login.discovery(), nexus != null && nexus.readOnly(),
        List.of(new SessionInfo.ConnectionInfo(login.cid(), remote, local, p.headerDigest(),
            p.dataDigest())), counters.snapshot());
  }

  private static String address(java.net.SocketAddress a) {
    if (a instanceof InetSocketAddress i) {
      return i.getHostString() + ":" + i.getPort();
    }
    return String.valueOf(a);
  }
}
