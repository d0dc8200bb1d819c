package org.iscsicsi.target.session;

import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The numbers one connection keeps (RFC 7143 section 4.2.2): StatSN, ExpCmdSN, a MaxCmdSN that
 * closes the command window while tasks are outstanding (flow control) but never moves back, and
 * the Target Transfer Tags it hands out (never the reserved 0xffffffff).
 *
 * <p>Event-loop confined, like the connection. {@code SequenceNumbersTest} pins the window rules
 * (accepting, ignoring, closing while tasks are outstanding, never moving back, serial arithmetic
 * across the wrap) and StatSN numbering.
 */
final class SequenceNumbers implements DataInSender.Numbers {

  private static final Logger log = LoggerFactory.getLogger(SequenceNumbers.class);
  static final int RESERVED = 0xffffffff;

  private final int window;
  private final IntSupplier outstanding;
  private int statSn;
  private int expCmdSn;
  private int maxCmdSn;
  private int nextTtt = 1;

  /**
   * @param window the commands an initiator may have queued when none is outstanding
   * @param outstanding the number of tasks in flight, which narrows the window
   */
  SequenceNumbers(int window, IntSupplier outstanding) {
    this.window = window;
    this.outstanding = outstanding;
  }

  /** Takes StatSN from the initiator's first Login Request (ExpStatSN). */
  void startStatSn(int expStatSn) {
    statSn = expStatSn;
  }

  /** During login each request's CmdSN restarts the window (section 6.1). */
  void restartWindow(int cmdSn) {
    expCmdSn = cmdSn;
    maxCmdSn = expCmdSn + window - 1;
  }

  /** StatSN for a PDU that does not advance it (R2T, an unsolicited NOP-In). */
  int statSn() {
    return statSn;
  }

  @Override
  public int nextStatSn() {
    return statSn++;
  }

  @Override
  public int expCmdSn() {
    return expCmdSn;
  }

  /**
   * MaxCmdSN: the window closes while tasks are in flight (flow control) but never moves back, so
   * a command sent inside a window once advertised is always accepted (section 4.2.2.1).
   */
  @Override
  public int maxCmdSn() {
    int open = Math.max(1, window - outstanding.getAsInt());
    int candidate = expCmdSn + open - 1;
    if (candidate - maxCmdSn > 0 || maxCmdSn - expCmdSn + 1 < 0) {
      maxCmdSn = candidate;
    }
    return maxCmdSn;
  }

  /**
   * Applies the CmdSN rules of section 4.2.2.1 to a PDU: an immediate one is always taken; outside
   * the window a non-immediate one is ignored silently; otherwise ExpCmdSN moves past it.
   */
  boolean accept(boolean immediate, int cmdSn) {
    if (immediate) {
      return true;
    }
    if (cmdSn - expCmdSn < 0 || maxCmdSn() - cmdSn < 0) {
      log.debug("CmdSN {} outside [{}, {}]; ignored", cmdSn, expCmdSn, maxCmdSn());
      return false;
    }
    expCmdSn = cmdSn + 1;
    return true;
  }

  /** Whether {@code cmdSn} lies in [ExpCmdSN, MaxCmdSN] (serial arithmetic). */
  boolean inWindow(int cmdSn) {
    return cmdSn - expCmdSn >= 0 && maxCmdSn() - cmdSn >= 0;
  }

  /** A new Target Transfer Tag. */
  int newTtt() {
    int t = nextTtt++;
    if (nextTtt == RESERVED) {
      nextTtt = 1;
    }
    return t;
  }
}
