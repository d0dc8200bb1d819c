package org.iscsicsi.target.login;

import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.registry.ExportedTarget;

/**
 * Which of the targets granting an initiator its session may name in SendTargets answers: all of
 * them, or (after a CHAP login with one target's credential) only those that share that
 * credential, so a credential reveals no target it does not open.
 */
public sealed interface DiscoveryScope {

  /** Whether SendTargets may name {@code target} (its grant is checked separately). */
  boolean includes(ExportedTarget target);

  /** Every granted target: no CHAP, or an engine-wide discovery secret. */
  record AllGranted() implements DiscoveryScope {
    @Override
    public boolean includes(ExportedTarget target) {
      return true;
    }
  }

  /** Targets whose incoming CHAP credential is the one the session authenticated with. */
  record SameCredential(ChapSecret credential) implements DiscoveryScope {
    @Override
    public boolean includes(ExportedTarget target) {
      return target.incomingChap().map(credential::equals).orElse(false);
    }

    @Override
    public String toString() {
      return "SameCredential[user=" + credential.user() + "]";
    }
  }
}
