package org.iscsicsi.target.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code chap set|clear}. Secrets can come from a file or an environment variable so that they
 * stay out of shell history and {@code ps}; the command never prints them.
 */
@Command(name = "chap", description = "Set or clear CHAP for a target.",
    subcommands = {ChapCommands.Set.class, ChapCommands.Clear.class})
final class ChapCommands {

  /** One secret, from exactly one source. */
  static final class Secret {
    @Option(names = "--password", paramLabel = "P",
        description = "The secret (visible in ps and shell history: prefer the file or env).")
    String value;

    @Option(names = "--password-file", paramLabel = "FILE",
        description = "Read the secret from FILE (a trailing newline is dropped).")
    Path file;

    @Option(names = "--password-env", paramLabel = "VAR",
        description = "Read the secret from environment variable VAR.")
    String env;

    byte[] read(String what) {
      return ChapCommands.read(what, value, file, env);
    }
  }

  /** The mutual secret, from exactly one source. */
  static final class MutualSecret {
    @Option(names = "--mutual-password", paramLabel = "P")
    String value;

    @Option(names = "--mutual-password-file", paramLabel = "FILE")
    Path file;

    @Option(names = "--mutual-password-env", paramLabel = "VAR")
    String env;

    byte[] read(String what) {
      return ChapCommands.read(what, value, file, env);
    }
  }

  @Command(name = "set", description = "Require CHAP (and optionally answer mutual CHAP).")
  static final class Set extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Option(names = "--user", required = true, paramLabel = "U",
        description = "User name initiators authenticate as.")
    String user;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Secret secret;

    @Option(names = "--mutual-user", paramLabel = "U",
        description = "User name the target authenticates as (mutual CHAP).")
    String mutualUser = "";

    @ArgGroup(exclusive = true)
    MutualSecret mutualSecret;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      byte[] pw = secret.read("--password");
      byte[] mpw = mutualSecret == null ? new byte[0] : mutualSecret.read("--mutual-password");
      if (!mutualUser.isEmpty() && mpw.length == 0) {
        throw new IllegalArgumentException("--mutual-user needs --mutual-password, "
            + "--mutual-password-file or --mutual-password-env");
      }
      try {
        admin.setChap(SetChapRequest.newBuilder().setTarget(target).setUser(user)
            .setPasswordBytes(com.google.protobuf.ByteString.copyFrom(pw))
            .setMutualUser(mutualUser)
            .setMutualPasswordBytes(com.google.protobuf.ByteString.copyFrom(mpw)).build());
      } finally {
        Arrays.fill(pw, (byte) 0);
        Arrays.fill(mpw, (byte) 0);
      }
      out.println("CHAP set for " + target + " (user " + user
          + (mutualUser.isEmpty() ? "" : ", mutual user " + mutualUser) + ")");
    }
  }

  @Command(name = "clear", description = "Stop requiring CHAP.")
  static final class Clear extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.setChap(SetChapRequest.newBuilder().setTarget(target).build());
      out.println("CHAP cleared for " + target);
    }
  }

  static byte[] read(String what, String value, Path file, String env) {
    if (value != null) {
      return value.getBytes(StandardCharsets.UTF_8);
    }
    if (file != null) {
      byte[] b;
      try {
        b = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new IllegalArgumentException(what + "-file: cannot read " + file + ": "
            + e.getClass().getSimpleName());
      }
      int n = b.length;
      if (n > 0 && b[n - 1] == '\n') {
        n--;
        if (n > 0 && b[n - 1] == '\r') {
          n--;
        }
      }
      return Arrays.copyOf(b, n);
    }
    String v = System.getenv(env);
    if (v == null) {
      throw new IllegalArgumentException(what + "-env: environment variable " + env
          + " is not set");
    }
    return v.getBytes(StandardCharsets.UTF_8);
  }

  private ChapCommands() {
  }
}
