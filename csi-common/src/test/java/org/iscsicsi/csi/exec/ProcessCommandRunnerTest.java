package org.iscsicsi.csi.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pins the host-command layer: real processes, exit codes and stderr reported, the process killed
 * at its timeout, secrets never shown in errors or output, and no shell interpretation.
 */
class ProcessCommandRunnerTest {

  private final ProcessCommandRunner runner = new ProcessCommandRunner();
  private static final Duration T = Duration.ofSeconds(10);

  @Test
  void capturesStdoutAndExitCode() throws Exception {
    CommandResult r = runner.run(Command.of(T, "sh", "-c", "echo out; echo err >&2; exit 3"));
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.stdout()).isEqualTo("out\n");
    assertThat(r.stderr()).isEqualTo("err\n");
  }

  @Test
  void checkPutsStderrAndExitCodeInTheError() {
    assertThatThrownBy(() -> runner.check(Command.of(T, "ls", "/definitely/not/here")))
        .isInstanceOf(CommandException.class)
        .hasMessageContaining("ls /definitely/not/here")
        .hasMessageContaining("exited 2")
        .hasMessageContaining("No such file or directory");
  }

  @Test
  void argumentsAreNotInterpretedByAShell() throws Exception {
    CommandResult r = runner.run(Command.of(T, "echo", "$(id)", ";", "`true`", "*"));
    assertThat(r.stdout()).isEqualTo("$(id) ; `true` *\n");
  }

  @Test
  void killsACommandAtItsTimeout() {
    long start = System.nanoTime();
    assertThatThrownBy(() -> runner.run(Command.of(Duration.ofMillis(300), "sleep", "30")))
        .isInstanceOfSatisfying(CommandException.class, e -> {
          assertThat(e.timedOut()).isTrue();
          assertThat(e.getMessage()).contains("timed out after 300 ms");
        });
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void secretsAreRedactedFromArgvOutputAndErrors() {
    Command c = Command.builder("sh", T).arg("-c", "echo \"$0\" >&2; exit 1").secret("s3cr3t!")
        .build();
    assertThat(c.redacted()).doesNotContain("s3cr3t!").contains("***");
    assertThatThrownBy(() -> runner.check(c))
        .isInstanceOfSatisfying(CommandException.class, e -> {
          assertThat(e.getMessage()).doesNotContain("s3cr3t!");
          assertThat(e.stderr()).doesNotContain("s3cr3t!").contains("***");
        });
  }

  @Test
  void aMissingProgramIsAClearError() {
    assertThatThrownBy(() -> runner.run(Command.of(T, "/nonexistent/tool", "x")))
        .isInstanceOf(CommandException.class)
        .hasMessageContaining("cannot run '/nonexistent/tool x'");
  }

  @Test
  void rejectsControlCharactersAndEmptyArgv() {
    assertThatThrownBy(() -> Command.of(T, "echo", "a\nb"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Command(List.of(), T, Set.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Command.of(Duration.ZERO, "true"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
