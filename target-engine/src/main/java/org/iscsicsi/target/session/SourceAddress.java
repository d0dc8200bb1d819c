package org.iscsicsi.target.session;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** The IP address a channel's peer connects from; null for channels without one (tests). */
public final class SourceAddress {

  private SourceAddress() {
  }

  public static InetAddress of(SocketAddress remote) {
    return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
  }
}
