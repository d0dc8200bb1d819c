package org.iscsicsi.target.session;

import io.netty.channel.Channel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Stops a connection taking PDUs from a peer that does not read what it is sent: once the channel
 * is not writable (its queued output passed the write buffer high water mark), the socket is no
 * longer read (netty autoRead off) and the PDUs already decoded from the last read are held here,
 * to be handled in order once the output drained below the low water mark. So a peer that only
 * writes gets at most one socket read handled beyond that mark.
 *
 * <p>Event-loop confined, like the connection; allocates nothing unless it pauses.
 */
final class InboundGate {

  private final ArrayDeque<Object> held = new ArrayDeque<>();
  private boolean paused;
  private long pauses;

  /** Whether PDUs are being held. */
  boolean paused() {
    return paused;
  }

  /** How often the connection stopped reading. */
  long pauses() {
    return pauses;
  }

  int held() {
    return held.size();
  }

  /** Stops reading from {@code channel}; PDUs still decoded go to {@link #hold}. */
  void pause(Channel channel) {
    if (!paused) {
      paused = true;
      pauses++;
      channel.config().setAutoRead(false);
    }
  }

  void hold(Object pdu) {
    held.add(pdu);
  }

  /**
   * The next held PDU, or null when there is none: then the gate opens and the socket is read
   * again.
   */
  Object next(Channel channel) {
    Object pdu = held.poll();
    if (pdu == null && paused) {
      paused = false;
      channel.config().setAutoRead(true);
    }
    return pdu;
  }

  /** Drops the held PDUs: the connection is gone. */
  void releaseAll() {
    Object pdu;
    while ((pdu = held.poll()) != null) {
      ReferenceCountUtil.release(pdu);
    }
  }
}
