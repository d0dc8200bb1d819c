package org.iscsicsi.target.session;

import java.net.InetAddress;

/**
 * What the portal allows each source address during login: whether it may log in now (not backed
 * off after failed authentications), whether it may open another discovery session, and the
 * CHAP responses it got wrong. A null source (a channel without an IP address,
 * in tests) is never limited. Thread-safe.
 */
public interface LoginGate {

  /** Whether a login from {@code source} may proceed now. */
  boolean admitLogin(InetAddress source);

  /** Records a CHAP response from {@code source} that matched no credential. */
  void credentialRejected(InetAddress source);

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
    public void credentialRejected(InetAddress source) {
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
