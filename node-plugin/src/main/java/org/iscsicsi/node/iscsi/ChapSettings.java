package org.iscsicsi.node.iscsi;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The open-iscsi record settings that carry CHAP: {@code node.session.auth.*} for a session,
 * {@code discovery.sendtargets.auth.*} for SendTargets discovery. A null value removes the line,
 * so a record never keeps a mutual secret from an earlier configuration.
 */
public final class ChapSettings {

  static final String SESSION = "node.session.auth.";
  static final String DISCOVERY = "discovery.sendtargets.auth.";

  private ChapSettings() {}

  /** Session authentication: CHAP (mutual when the credentials carry the target's pair) or None. */
  public static Map<String, String> session(Optional<ChapCredentials> chap) {
    return settings(SESSION, chap);
  }

  /** Discovery authentication with the same credentials. */
  public static Map<String, String> discovery(ChapCredentials chap) {
    return settings(DISCOVERY, Optional.of(chap));
  }

  private static Map<String, String> settings(String prefix, Optional<ChapCredentials> chap) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(prefix + "authmethod", chap.isPresent() ? "CHAP" : "None");
    m.put(prefix + "username", chap.map(ChapCredentials::username).orElse(null));
    m.put(prefix + "password", chap.map(ChapCredentials::password).orElse(null));
    m.put(prefix + "username_in", chap.map(ChapCredentials::usernameIn).orElse(null));
    m.put(prefix + "password_in", chap.map(ChapCredentials::passwordIn).orElse(null));
    return m;
  }
}
