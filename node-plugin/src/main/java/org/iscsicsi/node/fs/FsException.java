package org.iscsicsi.node.fs;

/** A filesystem or mount operation that failed; the message says which and why. */
public class FsException extends Exception {

  public FsException(String message, Throwable cause) {
    super(message, cause);
  }

  public FsException(String message) {
    super(message);
  }
}
