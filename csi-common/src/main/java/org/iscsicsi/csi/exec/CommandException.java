package org.iscsicsi.csi.exec;

/**
 * A host command that failed, timed out, or could not start. The message names the command
 * (secrets redacted), its exit code and its stderr, so that an operator can act on it.
 */
public class CommandException extends Exception {

  /** Exit code when the command did not run to completion (start failure or timeout). */
  public static final int NO_EXIT = -1;

  private final String command;
  private final int exitCode;
  private final String stderr;
  private final boolean timedOut;

  public CommandException(String command, int exitCode, String stderr, boolean timedOut,
      String message, Throwable cause) {
    super(message, cause);
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr == null ? "" : stderr;
    this.timedOut = timedOut;
  }

  /** The redacted argv. */
  public String command() {
    return command;
  }

  public int exitCode() {
    return exitCode;
  }

  public String stderr() {
    return stderr;
  }

  public boolean timedOut() {
    return timedOut;
  }
}
