package org.iscsicsi.csi.contract;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * CHAP credentials as CSI secrets carry them (a node-stage Secret, CreateVolume or
 * ControllerPublishVolume secrets): {@code username}/{@code password} for the initiator and, for
 * mutual CHAP, {@code username_in}/{@code password_in} for the target. open-iscsi's own setting
 * names ({@code node.session.auth.username}, ...) are accepted too, so a Secret written for
 * another iSCSI driver works unchanged. The controller and the node plugin read secrets only
 * through {@link #read}, so both accept exactly the same keys. {@link #toString()} never shows
 * a password.
 *
 * @param mutualUser empty without mutual CHAP (and then {@code mutualPassword} is empty too)
 */
public record ChapSecret(String user, String password, String mutualUser,
    String mutualPassword) {

  public static final String USERNAME = "username";
  public static final String PASSWORD = "password";
  public static final String USERNAME_IN = "username_in";
  public static final String PASSWORD_IN = "password_in";
  /** The prefix of open-iscsi's session settings, accepted before each key. */
  public static final String OPEN_ISCSI_PREFIX = "node.session.auth.";

  public ChapSecret {
    if (user.isEmpty() || password.isEmpty()) {
      throw new IllegalArgumentException("CHAP needs a " + USERNAME + " and a " + PASSWORD);
    }
    if (mutualUser.isEmpty() != mutualPassword.isEmpty()) {
      throw new IllegalArgumentException("mutual CHAP needs both " + USERNAME_IN + " and "
          + PASSWORD_IN);
    }
  }

  public boolean mutual() {
    return !mutualUser.isEmpty();
  }

  /** True when the secrets carry credentials (a non-empty username under either name). */
  public static boolean present(Map<String, String> secrets) {
    return !value(secrets, USERNAME).isEmpty();
  }

  /**
   * The credentials in {@code secrets}; empty when they carry none.
   *
   * @throws IllegalArgumentException when a half is missing (a username without password, one
   *     of username_in and password_in alone), naming the key
   */
  public static Optional<ChapSecret> read(Map<String, String> secrets) {
    String user = value(secrets, USERNAME);
    String password = value(secrets, PASSWORD);
    String mutualUser = value(secrets, USERNAME_IN);
    String mutualPassword = value(secrets, PASSWORD_IN);
    if (user.isEmpty() && password.isEmpty() && mutualUser.isEmpty()
        && mutualPassword.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new ChapSecret(user, password, mutualUser, mutualPassword));
  }

  /** The credentials under the plain key names (what the driver writes into a Secret). */
  public Map<String, String> asSecrets() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(USERNAME, user);
    m.put(PASSWORD, password);
    if (mutual()) {
      m.put(USERNAME_IN, mutualUser);
      m.put(PASSWORD_IN, mutualPassword);
    }
    return m;
  }

  private static String value(Map<String, String> secrets, String key) {
    String v = secrets.get(key);
    if (v == null || v.isEmpty()) {
      v = secrets.get(OPEN_ISCSI_PREFIX + key);
    }
    return v == null ? "" : v;
  }

  @Override
  public String toString() {
    return "ChapSecret[user=" + user + (mutual() ? ", mutualUser=" + mutualUser : "")
        + ", passwords=<redacted>]";
  }
}
