package org.iscsicsi.node.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.junit.jupiter.api.Assumptions;

/**
 * A real loop device over a sparse file, for tests (root only). {@link #close()} detaches it and
 * deletes the file; tests open it in try-with-resources so nothing is left behind.
 */
public final class LoopDevice implements AutoCloseable {

  private static final CommandRunner RUN = new ProcessCommandRunner();
  private static final Duration T = Duration.ofSeconds(30);

  private final Path file;
  private final Path device;

  private LoopDevice(Path file, Path device) {
    this.file = file;
    this.device = device;
  }

  /** Skips the calling test unless it runs as root with loop devices available. */
  public static void assumeAvailable() {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "loop devices need root");
    Assumptions.assumeTrue(Files.exists(Path.of("/dev/loop-control")), "no /dev/loop-control");
  }

  public static LoopDevice create(Path dir, String name, long bytes) throws Exception {
    Path file = dir.resolve(name + ".img");
    return attach(file, bytes);
  }

  /** Attaches an existing (or new, of {@code bytes}) backing file. */
  public static LoopDevice attach(Path file, long bytes) throws Exception {
    if (!Files.exists(file)) {
      try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
        raf.setLength(bytes);
      }
    }
    String dev = RUN.check(Command.of(T, "losetup", "-f", "--show", file.toString())).stdout()
        .strip();
    return new LoopDevice(file, Path.of(dev));
  }

  public Path device() {
    return device;
  }

  public Path file() {
    return file;
  }

  public String name() {
    return device.getFileName().toString();
  }

  /** Grows the backing file and tells the loop driver (losetup -c). */
  public void grow(long bytes) throws IOException, CommandException {
    try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(bytes);
    }
    RUN.check(Command.of(T, "losetup", "-c", device.toString()));
  }

  @Override
  public void close() throws Exception {
    try {
      // A mount left over by a failed test would keep the loop device busy.
      var table = MountTable.read(Path.of("/proc/self/mountinfo"));
      for (MountEntry e : table.entries().reversed()) {
        if (e.source().equals(device.toString())) {
          RUN.run(Command.of(T, "umount", "-l", e.mountPoint().toString()));
        }
      }
      RUN.run(Command.of(T, "losetup", "-d", device.toString()));
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
