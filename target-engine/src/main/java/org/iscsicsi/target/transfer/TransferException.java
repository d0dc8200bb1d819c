package org.iscsicsi.target.transfer;

/** A transfer that cannot go on: the peer broke the protocol, refused, or went away. */
public final class TransferException extends Exception {

  public TransferException(String message) {
    super(message);
  }

  public TransferException(String message, Throwable cause) {
    super(message, cause);
  }
}
