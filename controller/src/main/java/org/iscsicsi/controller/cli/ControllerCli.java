package org.iscsicsi.controller.cli;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.iscsicsi.controller.cli.volume.VolumeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code controller}: the CSI controller's command line. {@code serve} runs the CSI server with
 * the embedded target engine (or remote ones); {@code volume} drives a running one over CSI.
 */
@Command(name = "controller", mixinStandardHelpOptions = true,
    versionProvider = ControllerCli.Version.class,
    description = "CSI controller of iscsi-csi: provisions volumes as iSCSI targets.",
    subcommands = {ServeCommand.class, VolumeCommand.class})
public final class ControllerCli {

  /** Exit code of a failed call or I/O. */
  static final int FAILED = 1;
  /** Exit code of a bad command line or argument. */
  static final int BAD_USAGE = 2;

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /**
   * Runs one command line; the {@code volume} commands' failures (a CSI status, bad input, I/O)
   * are one line on {@code err}, without a stack trace.
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new ControllerCli());
    cl.setOut(out);
    cl.setErr(err);
    CommandLine.IExecutionExceptionHandler fallback = cl.getExecutionExceptionHandler();
    cl.setExecutionExceptionHandler((ex, line, parsed) -> {
      String name = line.getCommandSpec().qualifiedName();
      return switch (ex) {
        case VolumeCommand.Failure f -> oneLine(err, name, f.getMessage(), FAILED);
        case IllegalArgumentException i -> oneLine(err, name, i.getMessage(), BAD_USAGE);
        case UncheckedIOException io -> oneLine(err, name, io.getMessage(), FAILED);
        default -> fallback.handleExecutionException(ex, line, parsed);
      };
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  private static int oneLine(PrintWriter err, String command, String message, int code) {
    err.println(command + ": " + String.valueOf(message).strip().replace('\n', ' '));
    err.flush();
    return code;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {
        "iscsi-csi controller " + org.iscsicsi.controller.identity.DriverInfo.buildVersion()
      };
    }
  }
}
