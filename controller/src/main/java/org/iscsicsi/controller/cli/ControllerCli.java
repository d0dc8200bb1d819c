package org.iscsicsi.controller.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code controller}: the CSI controller's command line. {@code serve} runs the CSI server with
 * the embedded target engine (or remote ones).
 */
@Command(name = "controller", mixinStandardHelpOptions = true,
    versionProvider = ControllerCli.Version.class,
    description = "CSI controller of iscsi-csi: provisions volumes as iSCSI targets.",
    subcommands = {ServeCommand.class, BenchCommand.class})
public final class ControllerCli {

  public static void main(String[] args) {
    System.exit(new CommandLine(new ControllerCli()).execute(args));
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
