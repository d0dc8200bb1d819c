package org.iscsicsi.csi.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link Command} with {@link ProcessBuilder}: argv only, never a shell; the C locale so
 * that output parses the same everywhere; stdout and stderr drained concurrently (capped at
 * {@value #MAX_OUTPUT} bytes each); the process tree killed when the timeout passes.
 */
public final class ProcessCommandRunner implements CommandRunner {

  static final int MAX_OUTPUT = 1 << 20;
  private static final Logger log = LoggerFactory.getLogger(ProcessCommandRunner.class);

  @Override
  public CommandResult run(Command command) throws CommandException {
    ProcessBuilder pb = new ProcessBuilder(command.argv());
    pb.environment().put("LC_ALL", "C");
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    long start = System.nanoTime();
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new CommandException(command.redacted(), CommandException.NO_EXIT, "", false,
          "cannot run '" + command.redacted() + "': " + e.getMessage(), e);
    }
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try {
      if (!p.waitFor(command.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        String e = scrub(command, join(err));
        throw new CommandException(command.redacted(), CommandException.NO_EXIT, e, true,
            "'" + command.redacted() + "' timed out after " + command.timeout().toMillis()
                + " ms" + (e.isBlank() ? "" : ": " + e.strip()), null);
      }
      CommandResult r = new CommandResult(p.exitValue(), scrub(command, join(out)),
          scrub(command, join(err)));
      log.debug("'{}' exited {} in {} ms", command.redacted(), r.exitCode(),
          (System.nanoTime() - start) / 1_000_000);
      return r;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CommandException(command.redacted(), CommandException.NO_EXIT, "", false,
          "interrupted while running '" + command.redacted() + "'", e);
    }
  }

  private static CompletableFuture<String> drain(InputStream in) {
    CompletableFuture<String> f = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> {
      try (in) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) >= 0) {
          if (buf.size() < MAX_OUTPUT) {
            buf.write(chunk, 0, Math.min(n, MAX_OUTPUT - buf.size()));
          }
        }
        f.complete(buf.toString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        f.complete("");
      }
    });
    return f;
  }

  private static String join(CompletableFuture<String> f) {
    try {
      return f.get(5, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /** Tools sometimes echo their arguments back; never let a secret through that way. */
  private static String scrub(Command command, String text) {
    String s = text;
    for (String secret : command.secrets()) {
      s = s.replace(secret, "***");
    }
    return s;
  }
}
