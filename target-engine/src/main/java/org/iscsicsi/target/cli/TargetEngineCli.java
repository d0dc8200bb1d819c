package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code target-engine} command line, in the spirit of tgtadm/ietadm: {@code serve} runs an
 * engine; every other command is a client of a running engine's target.v1 admin API
 * ({@code --admin}, default {@value org.iscsicsi.target.engine.AdminAddress#DEFAULT} or
 * {@code $TARGET_ENGINE_ADMIN}).
 *
 * <p>Exit codes: 0 success, 1 the engine refused or failed the request (one line on stderr),
 * 2 bad usage.
 */
@Command(name = "target-engine", mixinStandardHelpOptions = true,
    versionProvider = TargetEngineCli.Version.class,
    description = "iSCSI target engine and its administration client.",
    subcommands = {ServeCommand.class, TargetCommands.class, LunCommands.class,
        AclCommands.class, ChapCommands.class, ListCommand.class, SessionsCommand.class,
        SnapshotCommands.class, InameCommand.class, InfoCommand.class,
        ReplicationCommands.class})
public final class TargetEngineCli {

  public static void main(String[] args) {
    int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    System.exit(code);
  }

  /** Runs one command line, writing to the given streams; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new TargetEngineCli());
    cl.setOut(out);
    cl.setErr(err);
    cl.setParameterExceptionHandler((ex, a) -> {
      err.println("target-engine: " + ex.getMessage().strip().replace('\n', ' ')
          + " (see --help)");
      err.flush();
      return 2;
    });
    cl.setExecutionExceptionHandler((ex, line, parsed) -> {
      String msg = switch (ex) {
        case CliException c -> c.getMessage();
        case IllegalArgumentException i -> i.getMessage();
        default -> "internal error: " + ex;
      };
      err.println("target-engine: " + msg.replace('\n', ' '));
      err.flush();
      return ex instanceof IllegalArgumentException ? 2 : 1;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** A failure to report as one line, exit code 1. */
  static final class CliException extends RuntimeException {
    CliException(String message) {
      super(message);
    }
  }

  /** Prints the engine's version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TargetEngineCli.class.getPackage().getImplementationVersion();
      return new String[] {"target-engine " + (v == null ? "dev" : v)};
    }
  }
}
