package org.iscsicsi.controller.volume;

import java.security.SecureRandom;
import java.util.Map;
import org.iscsicsi.csi.contract.ChapSecret;
import org.iscsicsi.target.v1.SetChapRequest;

/**
 * A volume's CHAP credentials, under the keys open-iscsi and the node plugin's NodeStageVolume
 * read: {@code username}/{@code password} for the initiator and, for mutual CHAP,
 * {@code username_in}/{@code password_in} for the target. {@link #toString()} never shows a
 * password: these objects reach log lines and exception messages.
 *
 * @param mutualUser empty without mutual CHAP (and then {@code mutualPassword} is empty too)
 */
public record ChapCredentials(String user, String password, String mutualUser,
    String mutualPassword) {

  public static final String USERNAME = ChapSecret.USERNAME;
  public static final String PASSWORD = ChapSecret.PASSWORD;
  public static final String USERNAME_IN = ChapSecret.USERNAME_IN;
  public static final String PASSWORD_IN = ChapSecret.PASSWORD_IN;

  /**
   * Length of generated secrets: 16 characters, the longest that every common initiator takes
   * (the Microsoft initiator accepts 12 to 16; open-iscsi up to 255 bytes, its 256-byte buffer
   * less the NUL; RFC 7143 section 9.2.1 asks for at least 12 bytes without IPsec).
   */
  public static final int GENERATED_SECRET_LENGTH = 16;
  /** Letters and digits only: no quoting trouble in iscsid.conf, node records or shells. */
  private static final String ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  public boolean mutual() {
    return !mutualUser.isEmpty();
  }

  /**
   * Fresh credentials from {@code random} (62^16, about 95 bits, per secret); the target's
   * secret, when mutual, is drawn until it differs from the initiator's (RFC 7143 section 9.2.1).
   */
  public static ChapCredentials generate(SecureRandom random, String user, String mutualUser) {
    String password = secret(random);
    if (mutualUser.isEmpty()) {
      return new ChapCredentials(user, password, "", "");
    }
    String mutualPassword;
    do {
      mutualPassword = secret(random);
    } while (mutualPassword.equals(password));
    return new ChapCredentials(user, password, mutualUser, mutualPassword);
  }

  private static String secret(SecureRandom random) {
    StringBuilder b = new StringBuilder(GENERATED_SECRET_LENGTH);
    for (int i = 0; i < GENERATED_SECRET_LENGTH; i++) {
      b.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return b.toString();
  }

  /** True when CSI secrets carry credentials (a {@code username}, under either key name). */
  public static boolean present(Map<String, String> secrets) {
    return ChapSecret.present(secrets);
  }

  /**
   * Credentials from CSI secrets or a Secret's data, read as the node plugin reads them
   * ({@link ChapSecret#read}).
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT when there are none or a half is
   *     missing
   */
  public static ChapCredentials fromSecrets(Map<String, String> secrets) {
    ChapSecret s;
    try {
      s = ChapSecret.read(secrets).orElseThrow(() -> CsiErrors.invalid(
          "CHAP is required: the secrets need username and password"));
    } catch (IllegalArgumentException e) {
      throw CsiErrors.invalid("CHAP secrets: " + e.getMessage());
    }
    return new ChapCredentials(s.user(), s.password(), s.mutualUser(), s.mutualPassword());
  }

  /** The credentials under the keys a node-stage Secret holds. */
  public Map<String, String> asSecrets() {
    return new ChapSecret(user, password, mutualUser, mutualPassword).asSecrets();
  }

  /** The engine call that requires these credentials at login to {@code targetIqn}. */
  public SetChapRequest toRequest(String targetIqn) {
    return SetChapRequest.newBuilder().setTarget(targetIqn).setUser(user).setPassword(password)
        .setMutualUser(mutualUser).setMutualPassword(mutualPassword).build();
  }

  @Override
  public String toString() {
    return "ChapCredentials[user=" + user + (mutual() ? ", mutualUser=" + mutualUser : "")
        + ", passwords=<redacted>]";
  }
}
