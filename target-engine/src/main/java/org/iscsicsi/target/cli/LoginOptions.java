package org.iscsicsi.target.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.target.acl.ChapPolicy;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.engine.LoginSettings;
import org.iscsicsi.target.login.ChapAlgorithm;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.server.AdmissionLimits;
import picocli.CommandLine.Option;

/** The {@code serve} options for login hardening (a picocli mixin), turned into settings. */
final class LoginOptions {

  @Option(names = "--chap-algorithms", paramLabel = "LIST", split = ",",
      description = "CHAP digests accepted: sha256, md5 (default sha256,md5; SHA-256 is "
          + "preferred, libiscsi offers only MD5).")
  List<String> chapAlgorithms = List.of("sha256", "md5");

  @Option(names = "--min-chap-challenge", paramLabel = "BYTES",
      description = "Shortest mutual-CHAP challenge (CHAP_C) accepted from an initiator "
          + "(default 16).")
  int minChallenge = LoginPolicy.DEFAULT_MIN_CHALLENGE_BYTES;

  @Option(names = "--discovery-auth", paramLabel = "required|off",
      description = "Whether SendTargets discovery sessions must use CHAP (default required).")
  String discoveryAuth = "required";

  @Option(names = "--discovery-chap-user", paramLabel = "USER",
      description = "CHAP user of the engine-wide discovery secret (default: discovery "
          + "accepts the CHAP credential of any target granting the initiator).")
  String discoveryUser;

  @Option(names = "--discovery-chap-password-file", paramLabel = "FILE",
      description = "File holding the engine-wide discovery CHAP secret.")
  Path discoveryPasswordFile;

  @Option(names = "--login-timeout", paramLabel = "SECONDS",
      description = "Close connections that have not logged in after this long (default 15).")
  int loginTimeoutSeconds = (int) LoginSettings.DEFAULT_LOGIN_TIMEOUT.toSeconds();

  @Option(names = "--max-connections-per-source", paramLabel = "N",
      description = "Open connections allowed from one IP address (default 64).")
  int connectionsPerSource = AdmissionLimits.DEFAULT_CONNECTIONS_PER_SOURCE;

  @Option(names = "--max-discovery-sessions", paramLabel = "N",
      description = "Discovery sessions open at once (default 256).")
  int discoverySessions = AdmissionLimits.DEFAULT_DISCOVERY_SESSIONS;

  @Option(names = "--max-discovery-sessions-per-source", paramLabel = "N",
      description = "Discovery sessions open at once from one IP address (default 8).")
  int discoverySessionsPerSource = AdmissionLimits.DEFAULT_DISCOVERY_SESSIONS_PER_SOURCE;

  @Option(names = "--auth-failures-before-backoff", paramLabel = "N",
      description = "CHAP failures from one IP address within a minute after which its "
          + "logins are refused for 2 s, doubling with each further failure up to 5 min "
          + "(default 5).")
  int failuresBeforeBackoff = AdmissionLimits.defaults().failuresBeforeBackoff();

  /**
   * @throws IllegalArgumentException naming the option that is wrong
   */
  LoginSettings settings() {
    EnumSet<ChapAlgorithm> algorithms = EnumSet.noneOf(ChapAlgorithm.class);
    for (String a : chapAlgorithms) {
      try {
        algorithms.add(ChapAlgorithm.parse(a));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--chap-algorithms: " + e.getMessage());
      }
    }
    boolean discoveryRequired = switch (discoveryAuth) {
      case "required" -> true;
      case "off" -> false;
      default -> throw new IllegalArgumentException(
          "--discovery-auth must be required or off, not '" + discoveryAuth + "'");
    };
    if ((discoveryUser == null) != (discoveryPasswordFile == null)) {
      throw new IllegalArgumentException(
          "--discovery-chap-user and --discovery-chap-password-file go together");
    }
    Optional<ChapSecret> discoverySecret = discoveryUser == null ? Optional.empty()
        : Optional.of(ChapPolicy.secret("discovery", discoveryUser,
            ChapCommands.read("--discovery-chap-password", null, discoveryPasswordFile, null)));
    if (loginTimeoutSeconds <= 0) {
      throw new IllegalArgumentException("--login-timeout must be positive");
    }
    AdmissionLimits defaults = AdmissionLimits.defaults();
    AdmissionLimits admission = defaults.withConnectionsPerSource(connectionsPerSource)
        .withDiscoverySessions(discoverySessions, discoverySessionsPerSource)
        .withBackoff(failuresBeforeBackoff, defaults.failureWindow(), defaults.firstBackoff(),
            defaults.maxBackoff());
    LoginPolicy policy = new LoginPolicy(algorithms, minChallenge, discoveryRequired,
        discoverySecret);
    return new LoginSettings(policy, admission, Duration.ofSeconds(loginTimeoutSeconds));
  }
}
