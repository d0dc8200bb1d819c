package org.iscsicsi.target.session;

import java.net.InetAddress;
import org.iscsicsi.target.login.LoginStatus;

/**
 * What the portal allows each source address during login: whether it may log in now (not backed
 * off after failed authentications), whether it may open another discovery session, and the
 * outcome of each login for its failure count. A null source (a channel without an IP address,
 * in tests) is never limited. Thread-safe.
 */
public interface LoginGate {

  /** Whether a login from {@code source} may proceed now. */
  boolean admitLogin(InetAddress source);

  /** Records how a login from {@code source} ended. */
  void loginFinished(InetAddress source, LoginStatus status);

  /** Takes a discovery session slot for {@code source}; false when none is left. */
  boolean reserveDiscovery(InetAddress source);

  /** Gives back a slot {@link #reserveDiscovery} took. */
  void releaseDiscovery(InetAddress source);

  /** No limits at all. */
  LoginGate UNLIMITED = new LoginGate() {
    @Override
    public boolean admitLogin(InetAddress source) {
      return true;
    }

    @Override
    public void loginFinished(InetAddress source, LoginStatus status) {
    }

    @Override
    public boolean reserveDiscovery(InetAddress source) {
      return true;
    }

    @Override
    public void releaseDiscovery(InetAddress source) {
    }
  };
}
