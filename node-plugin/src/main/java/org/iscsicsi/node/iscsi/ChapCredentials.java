package org.iscsicsi.node.iscsi;

import org.iscsicsi.csi.exec.Args;

/**
 * CHAP credentials for a session (RFC 7143 section 12.1.3): the initiator's name and secret, and
 * optionally the target's for mutual CHAP. {@link #toString()} never shows a secret.
 */
public record ChapCredentials(String username, String password, String usernameIn,
    String passwordIn) {

  public ChapCredentials {
    Args.plain("CHAP username", username);
    Args.plain("CHAP secret", password);
    if (username.isEmpty() || password.isEmpty()) {
      throw new IllegalArgumentException("CHAP username and secret must not be empty");
    }
    if ((usernameIn == null) != (passwordIn == null)) {
      throw new IllegalArgumentException(
          "mutual CHAP needs both the target's username and secret");
    }
    if (usernameIn != null) {
      Args.plain("mutual CHAP username", usernameIn);
      Args.plain("mutual CHAP secret", passwordIn);
    }
    for (String v : new String[] {username, password, usernameIn, passwordIn}) {
      if (v != null && (!v.strip().equals(v) || v.startsWith("\""))) {
        // open-iscsi's record files would not keep surrounding blanks or a leading quote.
        throw new IllegalArgumentException("CHAP names and secrets must not begin or end with"
            + " white space or start with a quote");
      }
    }
  }

  public boolean mutual() {
    return usernameIn != null;
  }

  @Override
  public String toString() {
    return "ChapCredentials[username=" + username + ", mutual=" + mutual() + "]";
  }
}
