package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.grpc.Status;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Optional;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.csi.contract.PublishContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code volume publish NAME --node IQN}: ControllerPublishVolume for that initiator, then what
 * to run on its host. The CHAP credentials are made here and handed to the controller as
 * controller-publish secrets, which replace the ones it generated (those live only in the
 * engine's state): so this command knows them and prints them, once, on request. They travel only
 * in the gRPC call, the terminal and the optional 0600 {@code --env-file}, never on a command line.
 */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = "Grant an initiator a volume (ControllerPublishVolume) and print how to log in.")
final class PublishCommand extends CsiClientCommand {

  private static final SecureRandom RANDOM = new SecureRandom();

  @Parameters(paramLabel = "NAME", description = "The volume's name or id")
  String volume;

  @Option(names = "--node", required = true, paramLabel = "IQN",
      description = "The initiator name of the host that logs in")
  String node;

  @Option(names = "--read-only", description = "Grant read-only access")
  boolean readOnly;

  @Option(names = "--env-file", paramLabel = "FILE",
      description = "Also write the credentials and the LUN's URL as shell exports (mode 0600) "
          + "for libiscsi's tools: . FILE")
  Path envFile;

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    Csi.ListVolumesResponse.Entry entry = Volumes.find(csi, volume);
    String id = entry.getVolume().getVolumeId();
    if (entry.getStatus().getPublishedNodeIdsList().contains(node)) {
      // the controller answers a repeated publish as done and does not set credentials again
      throw Status.FAILED_PRECONDITION.withDescription("volume " + id + " is already published "
          + "to " + node + " and its credentials are not shown again; run volume unpublish "
          + volume + " --node " + node + ", then publish").asRuntimeException();
    }
    var context = entry.getVolume().getVolumeContextMap();
    boolean mutual = Boolean.parseBoolean(context.get(VolumeParameters.MUTUAL_CHAP));
    ChapCredentials chap = ChapCredentials.generate(RANDOM, id, mutual ? id + ".target" : "");
    Csi.ControllerPublishVolumeResponse r = csi.controllerPublishVolume(
        Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(id).setNodeId(node)
            // publishing checks only the access mode; block or filesystem is the node's matter
            .setVolumeCapability(Volumes.capability(false, ""))
            .setReadonly(readOnly).putAllSecrets(chap.asSecrets()).build());
    var publish = r.getPublishContextMap();
    boolean chapOn = Boolean.parseBoolean(publish.get(PublishContext.CHAP));
    String portal = publish.getOrDefault(PublishContext.PORTALS, "").split(",")[0];
    LoginInstructions login = new LoginInstructions(node, publish.get(PublishContext.TARGET_IQN),
        portal, Integer.parseInt(publish.getOrDefault(PublishContext.LUN, "0")),
        chapOn ? Optional.of(chap) : Optional.empty());
    out.print(login.render(Boolean.parseBoolean(publish.get(PublishContext.READ_ONLY))));
    if (envFile != null) {
      writePrivate(envFile, String.join("\n", login.environment()) + "\n");
      out.println("(also in " + envFile + ", mode 0600: . " + envFile + ")");
    }
  }

  /** Writes a fresh file only its owner can read; an old one (or a symlink there) goes first. */
  private static void writePrivate(Path file, String text) {
    try {
      Files.deleteIfExists(file);
      try (var ch = Files.newByteChannel(file, java.util.Set.of(StandardOpenOption.CREATE_NEW,
              StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
        ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("--env-file " + file + ": " + e.getMessage(), e);
    }
  }
}
