package org.iscsicsi.csi.exec;

/**
 * Runs host commands. The only production implementation is {@link ProcessCommandRunner}; unit
 * tests of callers may substitute a scripted runner where the real command cannot run here (the
 * host kernel has no SCSI layer, so iscsiadm login cannot).
 */
public interface CommandRunner {

  /**
   * Runs the command and returns its result whatever its exit code; throws only when it could
   * not be started or did not finish in time.
   */
  CommandResult run(Command command) throws CommandException;

  /** Runs the command and throws a {@link CommandException} unless it exits 0. */
  default CommandResult check(Command command) throws CommandException {
    CommandResult r = run(command);
    if (!r.ok()) {
      throw failure(command, r);
    }
    return r;
  }

  /** The exception describing a command that exited non-zero. */
  static CommandException failure(Command command, CommandResult r) {
    String err = r.stderr().strip();
    if (err.isEmpty()) {
      err = r.stdout().strip();
    }
    return new CommandException(command.redacted(), r.exitCode(), err, false,
        "'" + command.redacted() + "' exited " + r.exitCode()
            + (err.isEmpty() ? "" : ": " + err), null);
  }
}
