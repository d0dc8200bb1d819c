package org.iscsicsi.target.acl;

import java.util.Arrays;

/**
 * A CHAP user name and secret (RFC 7143 section 12.1.3). {@link #toString()} never shows the
 * secret: these objects end up in log lines and exception messages.
 */
public record ChapSecret(String user, byte[] secret) {

  public ChapSecret {
    secret = secret.clone();
  }

  @Override
  public byte[] secret() {
    return secret.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChapSecret other && user.equals(other.user)
        && Arrays.equals(secret, other.secret);
  }

  @Override
  public int hashCode() {
    return user.hashCode();
  }

  @Override
  public String toString() {
    return "ChapSecret[user=" + user + ", secret=<redacted>]";
  }
}
