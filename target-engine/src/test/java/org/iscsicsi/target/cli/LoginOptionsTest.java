package org.iscsicsi.target.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.stream.Stream;
import org.iscsicsi.target.engine.LoginSettings;
import org.iscsicsi.target.login.ChapAlgorithm;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.server.AdmissionLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The login-hardening flags of {@code serve}: the defaults are the secure ones (discovery needs
 * CHAP, SHA-256 and MD5, 64 connections per source), each flag reaches the settings, the
 * discovery secret comes from a file only, and bad values are refused naming the flag.
 */
class LoginOptionsTest {

  @TempDir
  Path dir;

  LoginSettings parse(String... args) {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs(Stream.concat(Stream.of("--state-dir", dir.toString()),
        Stream.of(args)).toArray(String[]::new));
    return serve.login.settings();
  }

  @Test
  void defaultsAreTheSecureOnes() {
    assertThat(parse()).isEqualTo(LoginSettings.defaults());
    assertThat(LoginSettings.defaults().policy().discoveryAuth()).isTrue();
    assertThat(LoginSettings.defaults().policy().preference())
        .containsExactly(ChapAlgorithm.SHA_256, ChapAlgorithm.MD5);
  }

  @Test
  void eachFlagReachesTheSettings() throws Exception {
    Path secret = dir.resolve("discovery-secret");
    Files.writeString(secret, "discovery-secret-0123\n");
    LoginSettings s = parse("--chap-algorithms", "sha256", "--min-chap-challenge", "32",
        "--discovery-auth", "off", "--discovery-chap-user", "disc",
        "--discovery-chap-password-file", secret.toString(), "--login-timeout", "5",
        "--max-connections-per-source", "8", "--max-discovery-sessions", "10",
        "--max-discovery-sessions-per-source", "2", "--auth-failures-before-backoff", "3");
    LoginPolicy p = s.policy();
    assertThat(p.chapAlgorithms()).isEqualTo(EnumSet.of(ChapAlgorithm.SHA_256));
    assertThat(p.minInitiatorChallengeBytes()).isEqualTo(32);
    assertThat(p.discoveryAuth()).isFalse();
    assertThat(p.discoverySecret()).hasValueSatisfying(c -> {
      assertThat(c.user()).isEqualTo("disc");
      assertThat(new String(c.secret(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("discovery-secret-0123");
    });
    assertThat(s.loginTimeout()).isEqualTo(Duration.ofSeconds(5));
    AdmissionLimits a = s.admission();
    assertThat(a.connectionsPerSource()).isEqualTo(8);
    assertThat(a.discoverySessions()).isEqualTo(10);
    assertThat(a.discoverySessionsPerSource()).isEqualTo(2);
    assertThat(a.failuresBeforeBackoff()).isEqualTo(3);
  }

  @Test
  void badValuesNameTheirFlag() {
    assertThatThrownBy(() -> parse("--chap-algorithms", "sha1"))
        .hasMessageContaining("--chap-algorithms");
    assertThatThrownBy(() -> parse("--discovery-auth", "maybe"))
        .hasMessageContaining("--discovery-auth");
    assertThatThrownBy(() -> parse("--discovery-chap-user", "disc"))
        .hasMessageContaining("--discovery-chap-password-file");
    assertThatThrownBy(() -> parse("--login-timeout", "0")).hasMessageContaining("--login-timeout");
    assertThatThrownBy(() -> parse("--max-connections-per-source", "0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> parse("--min-chap-challenge", "0"))
        .hasMessageContaining("challenge");
  }
}
