package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small real ext4 filesystem on a loop device (truncate + mkfs.ext4 + mount -o loop), for tests
 * that need a filesystem that fills up. Needs root; {@link #close()} always unmounts.
 */
public final class LoopFilesystem implements AutoCloseable {

  public final Path mountPoint;
  private boolean mounted;

  public LoopFilesystem(Path dir, long sizeBytes) throws IOException, InterruptedException {
    Path image = dir.resolve("fs.img");
    mountPoint = Files.createDirectories(dir.resolve("mnt"));
    try (var ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(0);
      ch.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1);
    }
    run("mkfs.ext4", "-q", "-F", "-m", "0", image.toString());
    run("mount", "-o", "loop", image.toString(), mountPoint.toString());
    mounted = true;
  }

  public static boolean usable() {
    return "root".equals(System.getProperty("user.name"))
        && Files.isExecutable(Path.of("/sbin/mkfs.ext4"))
        && Files.isExecutable(Path.of("/bin/mount"));
  }

  private static void run(String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(List.of(argv)).redirectErrorStream(true).start();
    p.getOutputStream().close();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", argv) + " timed out");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", argv) + " failed (" + p.exitValue() + "): " + out);
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (mounted) {
      run("umount", mountPoint.toString());
      mounted = false;
    }
  }
}
