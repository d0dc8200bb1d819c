package org.iscsicsi.controller.cli.volume;

import picocli.CommandLine.Command;

/**
 * {@code controller volume}: the volume lifecycle through a running controller's CSI socket, for
 * trying the driver without Kubernetes (what the external sidecars would call).
 */
@Command(name = "volume", mixinStandardHelpOptions = true,
    description = "Create, list, publish, snapshot and delete volumes over CSI.",
    subcommands = {CreateCommand.class, ListCommand.class, PublishCommand.class,
        UnpublishCommand.class, SnapshotCommand.class, DeleteCommand.class})
public final class VolumeCommand {

  /** A failed CSI call, as one line: the status code and its description. */
  public static final class Failure extends RuntimeException {
    Failure(String message) {
      super(message, null, false, false);
    }
  }
}
