package org.iscsicsi.node.multipath;

/** A multipath or multipathd command that failed; the message says which and why. */
public final class MultipathException extends Exception {

  public MultipathException(String message, Throwable cause) {
    super(message, cause);
  }
}
