package org.iscsicsi.controller.volume;

import java.util.regex.Pattern;

/** iSCSI names (RFC 7143 section 4.2.7): the iqn., eui. and naa. forms. */
public final class IscsiNames {

  private static final Pattern NAME = Pattern.compile(
      "iqn\\.[0-9]{4}-[0-9]{2}\\.[a-z0-9][a-z0-9.:-]*|eui\\.[0-9A-Fa-f]{16}"
          + "|naa\\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})");

  /** RFC 7143 section 4.2.7: at most 223 bytes. */
  private static final int MAX_LENGTH = 223;

  private IscsiNames() {}

  /** Whether {@code name} is a well-formed iSCSI name. */
  public static boolean valid(String name) {
    return name.length() <= MAX_LENGTH && NAME.matcher(name).matches();
  }
}
