package org.iscsicsi.csi.exec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One host command: an argv (never a shell line), a timeout, and the indexes of arguments that
 * carry secrets, which {@link #redacted()} replaces so they never reach a log or an error.
 */
public record Command(List<String> argv, Duration timeout, Set<Integer> secretArgs) {

  public Command {
    Objects.requireNonNull(timeout, "timeout");
    argv = List.copyOf(argv);
    secretArgs = Set.copyOf(secretArgs);
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("empty argv");
    }
    for (String a : argv) {
      Args.noControlChars("argument", a);
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
  }

  /** A command without secrets. */
  public static Command of(Duration timeout, String... argv) {
    return new Command(List.of(argv), timeout, Set.of());
  }

  /** Starts a builder for a command with the given program and timeout. */
  public static Builder builder(String program, Duration timeout) {
    return new Builder(program, timeout);
  }

  /** The argv with secret arguments replaced by {@code ***}, for logs and error messages. */
  public String redacted() {
    List<String> out = new ArrayList<>(argv.size());
    for (int i = 0; i < argv.size(); i++) {
      out.add(secretArgs.contains(i) ? "***" : argv.get(i));
    }
    return String.join(" ", out);
  }

  /** The secret argument values, so that a command's output can be scrubbed of them. */
  List<String> secrets() {
    return secretArgs.stream().map(argv::get).filter(s -> !s.isEmpty()).toList();
  }

  @Override
  public String toString() {
    return redacted();
  }

  /** Collects arguments; {@link #secret(String)} marks one that must never be shown. */
  public static final class Builder {
    private final List<String> argv = new ArrayList<>();
    private final java.util.HashSet<Integer> secrets = new java.util.HashSet<>();
    private final Duration timeout;

    private Builder(String program, Duration timeout) {
      argv.add(program);
      this.timeout = timeout;
    }

    public Builder arg(String... args) {
      for (String a : args) {
        argv.add(Objects.requireNonNull(a, "argument"));
      }
      return this;
    }

    public Builder secret(String value) {
      secrets.add(argv.size());
      argv.add(Objects.requireNonNull(value, "secret"));
      return this;
    }

    public Command build() {
      return new Command(argv, timeout, secrets);
    }
  }
}
