package org.iscsicsi.target.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host tool (argv, no shell) with a timeout and returns its exit code and output. */
public final class Exec {

  /** The outcome of a finished command; stdout and stderr merged. */
  public record Result(int exit, String output, byte[] raw) {

    /** Whether the raw output holds this byte sequence (for tools that print binary). */
    public boolean containsBytes(byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= raw.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (raw[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    }
  }

  private Exec() {
  }

  public static Result run(Duration timeout, String... argv) throws IOException,
      InterruptedException {
    return run(timeout, List.of(argv));
  }

  public static Result run(Duration timeout, List<String> argv) throws IOException,
      InterruptedException {
    return run(timeout, new ProcessBuilder(argv));
  }

  /**
   * Runs {@code pb} (its directory and environment as set) with stderr merged into the output;
   * after the timeout it and everything it started are killed.
   */
  public static Result run(Duration timeout, ProcessBuilder pb) throws IOException,
      InterruptedException {
    List<String> argv = pb.command();
    Process p = pb.redirectErrorStream(true).start();
    p.getOutputStream().close();
    var out = new java.io.ByteArrayOutputStream();
    Thread pump = Thread.ofVirtual().start(() -> {
      try {
        p.getInputStream().transferTo(out);
      } catch (IOException e) {
        // the process was killed; what we have is enough
      }
    });
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      pump.join(1000);
      throw new IOException(argv.getFirst() + " timed out after " + timeout + "; output: "
          + out.toString(StandardCharsets.UTF_8));
    }
    pump.join(5000);
    return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8), out.toByteArray());
  }

  /** Starts a tool in the background; the caller must destroy it. */
  public static Process start(List<String> argv) throws IOException {
    return new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  public static boolean available(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Whether qemu can open iscsi:// URLs: Debian's qemu-block-extra, in /usr/lib/<triplet>/qemu. */
  public static boolean qemuIscsiDriver() throws IOException {
    try (var dirs = java.nio.file.Files.list(java.nio.file.Path.of("/usr/lib"))) {
      return dirs.anyMatch(d -> java.nio.file.Files.exists(d.resolve("qemu/block-iscsi.so")));
    }
  }
}
