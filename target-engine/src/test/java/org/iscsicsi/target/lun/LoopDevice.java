package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.ProcessCommandRunner;

/**
 * A real loop device over a sparse file ({@code losetup --find --show}), for tests of LUNs on
 * block devices. Needs root and {@code /dev/loop-control}; {@link #close()} always detaches.
 */
public final class LoopDevice implements AutoCloseable {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final ProcessCommandRunner RUNNER = new ProcessCommandRunner();

  public final Path image;
  public final Path device;

  private LoopDevice(Path image, Path device) {
    this.image = image;
    this.device = device;
  }

  /** Why a loop device cannot be made here, if it cannot. */
  public static Optional<String> unavailableReason() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return Optional.of("loop devices need root");
    }
    if (!Files.exists(Path.of("/dev/loop-control"))) {
      return Optional.of("no /dev/loop-control (loop driver missing)");
    }
    return Optional.empty();
  }

  /** A loop device over a new sparse file {@code image} of {@code sizeBytes}. */
  public static LoopDevice attach(Path image, long sizeBytes) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(sizeBytes);
      ch.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1);
    }
    String dev = run("losetup", "--find", "--show", image.toString()).strip();
    return new LoopDevice(image, Path.of(dev));
  }

  /** Grows the image file to {@code sizeBytes} and has the loop device take the new size. */
  public void grow(long sizeBytes) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1);
    }
    run("losetup", "--set-capacity", device.toString());
  }

  private static String run(String... argv) throws IOException {
    try {
      return RUNNER.check(Command.of(TIMEOUT, argv)).stdout();
    } catch (CommandException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public void close() throws IOException {
    run("losetup", "--detach", device.toString());
  }
}
