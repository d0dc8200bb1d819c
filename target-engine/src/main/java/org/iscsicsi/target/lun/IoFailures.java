package org.iscsicsi.target.lun;

import java.io.IOException;

/** How a failed I/O on a LUN's backing file is reported: a full filesystem as its own type. */
final class IoFailures {

  private static final String ENOSPC_MESSAGE = "No space left on device";

  private IoFailures() {
  }

  /**
   * ENOSPC, however the JDK or libc reported it, becomes {@link SpaceExhaustedException}; other
   * IOExceptions stay as they are and anything else is wrapped, naming {@code what} failed.
   */
  static IOException translate(Exception e, String what) {
    boolean noSpace = e instanceof NativeFile.NativeIoException n && n.errno() == NativeFile.ENOSPC
        || e.getMessage() != null && e.getMessage().contains(ENOSPC_MESSAGE);
    if (noSpace) {
      return new SpaceExhaustedException(what + ": no space left on the backing filesystem", e);
    }
    if (e instanceof IOException io) {
      return io;
    }
    return new IOException(what, e);
  }

  /** The first failure stays the one thrown; later ones ride along as suppressed. */
  static IOException chain(IOException first, IOException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }
}
