package org.iscsicsi.target.transfer;

import java.util.regex.Pattern;

/** Transfer ids: the snapshot id rule, so an id is also a safe file name component. */
final class TransferId {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private TransferId() {
  }

  /** The id, or IllegalArgumentException naming the rule. */
  static String check(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("transfer id \"" + (id == null ? "" : id)
          + "\" must match " + ID.pattern());
    }
    return id;
  }
}
