package org.iscsicsi.target.engine;

import java.time.Duration;
import java.util.Objects;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.server.AdmissionLimits;

/**
 * How an engine's portal treats logins: authentication rules, per-source bounds and the login
 * timeout.
 *
 * @param policy CHAP digests and challenge length accepted, whether discovery needs CHAP
 * @param admission connections and discovery sessions per source, backoff after failures
 * @param loginTimeout a connection that has not completed login by then is closed, whatever it
 *     sends meanwhile
 */
public record LoginSettings(LoginPolicy policy, AdmissionLimits admission, Duration loginTimeout) {

  public static final Duration DEFAULT_LOGIN_TIMEOUT = Duration.ofSeconds(15);

  public LoginSettings {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(admission, "admission");
    if (loginTimeout.isNegative() || loginTimeout.isZero()) {
      throw new IllegalArgumentException("login timeout must be positive");
    }
  }

  /** Secure defaults: see {@link LoginPolicy#defaults()}, {@link AdmissionLimits#defaults()}. */
  public static LoginSettings defaults() {
    return new LoginSettings(LoginPolicy.defaults(), AdmissionLimits.defaults(),
        DEFAULT_LOGIN_TIMEOUT);
  }

  public LoginSettings withPolicy(LoginPolicy p) {
    return new LoginSettings(p, admission, loginTimeout);
  }

  public LoginSettings withAdmission(AdmissionLimits a) {
    return new LoginSettings(policy, a, loginTimeout);
  }

  public LoginSettings withLoginTimeout(Duration t) {
    return new LoginSettings(policy, admission, t);
  }
}
