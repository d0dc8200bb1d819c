package org.iscsicsi.target.session;

import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.iscsicsi.target.login.LoginResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's live sessions: TSIH allocation (16-bit, never 0, unique among live sessions) and
 * session reinstatement (RFC 7143 section 6.3.5: a new login with the same initiator name, ISID and
 * target ends the old session first). Thread-safe.
 */
public final class SessionTable implements SessionRegistry {

  private static final Logger log = LoggerFactory.getLogger(SessionTable.class);

  private final Map<Integer, IscsiSession> byTsih = new ConcurrentHashMap<>();
  private final Map<SessionKey, IscsiSession> byKey = new ConcurrentHashMap<>();
  private final LoginOutcomes logins = new LoginOutcomes();
  private int nextTsih = 1;

  /**
   * Registers the session a login completed, ending any session it reinstates, and tells the SCSI
   * layer about the new nexus.
   */
  IscsiSession open(LoginResult login, Channel channel, SessionCountersRecorder counters) {
    IscsiSession session;
    synchronized (this) {
      SessionKey key = new SessionKey(login.initiatorName(), login.isid(),
          login.discovery() ? "" : login.target().name());
      IscsiSession old = byKey.get(key);
      if (old != null) {
        log.info("reinstating session TSIH {} of {}", old.tsih(), key);
        remove(old);
        old.end();
      }
      // a login naming a live TSIH replaces that session's only connection and keeps its TSIH
      int tsih = old != null && login.tsih() == old.tsih() ? old.tsih() : allocate();
      session = new IscsiSession(tsih, login, channel, counters);
      byTsih.put(tsih, session);
      byKey.put(key, session);
    }
    if (session.nexus() != null) {
      login.target().scsi().nexusCreated(session.nexus());
    }
    return session;
  }

  /** Counts a finished login (its final Login Response status) for metrics. */
  void loginFinished(int statusClass, int statusDetail) {
    logins.record(statusClass, statusDetail);
  }

  @Override
  public Map<Integer, Long> loginOutcomes() {
    return logins.counts();
  }

  /** True when {@code tsih} is a live session of this initiator port and target. */
  public boolean exists(int tsih, long isid, String initiatorName, String targetName) {
    IscsiSession s = byTsih.get(tsih);
    return s != null && s.key().equals(new SessionKey(initiatorName, isid, targetName));
  }

  /** Ends a session (logout, connection loss); idempotent. */
  void close(IscsiSession session) {
    synchronized (this) {
      remove(session);
    }
    session.end();
  }

  private void remove(IscsiSession s) {
    byTsih.remove(s.tsih(), s);
    byKey.remove(s.key(), s);
  }

  private int allocate() {
    for (int i = 0; i < 65536; i++) {
      int t = nextTsih;
      nextTsih = nextTsih == 0xffff ? 1 : nextTsih + 1;
      if (!byTsih.containsKey(t)) {
        return t;
      }
    }
    throw new IllegalStateException("no free TSIH");
  }

  @Override
  public List<SessionInfo> sessions() {
    List<SessionInfo> out = new ArrayList<>();
    for (IscsiSession s : byTsih.values()) {
      out.add(s.info());
    }
    return out;
  }

  @Override
  public int close(String targetName, String initiatorName) {
    List<IscsiSession> victims = new ArrayList<>();
    for (IscsiSession s : byTsih.values()) {
      if (!s.login().discovery() && s.login().target().name().equals(targetName)
          && (initiatorName == null || initiatorName.equals(s.login().initiatorName()))) {
        victims.add(s);
      }
    }
    victims.forEach(this::close);
    return victims.size();
  }

  /** Ends every session (engine shutdown). */
  public void closeAll() {
    new ArrayList<>(byTsih.values()).forEach(this::close);
  }
}
