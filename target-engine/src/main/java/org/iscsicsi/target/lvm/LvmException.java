package org.iscsicsi.target.lvm;

import java.io.IOException;

/**
 * An lvm command that failed, timed out or printed what could not be parsed. The message names
 * the command and lvm's own words (its stderr), which is what an operator needs to act.
 */
public final class LvmException extends IOException {

  private final String command;
  private final String stderr;

  LvmException(String command, String stderr, String message, Throwable cause) {
    super(message, cause);
    this.command = command;
    this.stderr = stderr;
  }

  /** The argv that failed, joined by spaces. */
  public String command() {
    return command;
  }

  /** What lvm wrote to stderr, stripped. */
  public String stderr() {
    return stderr;
  }
}
