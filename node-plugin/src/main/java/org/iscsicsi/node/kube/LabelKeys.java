package org.iscsicsi.node.kube;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Kubernetes label keys, checked as the API server checks them (a qualified name): an optional
 * DNS subdomain prefix of at most 253 characters and a slash, then a name of 1 to 63 characters,
 * alphanumeric at both ends, with {@code -}, {@code _} and {@code .} inside.
 */
public final class LabelKeys {
  private static final int MAX_PREFIX = 253;
  private static final int MAX_NAME = 63;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  private static final Pattern PREFIX = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  private LabelKeys() {}

  /**
   * The keys of a comma-separated list, in order.
   *
   * @throws IllegalArgumentException naming the first key that is not a label key, or repeated
   */
  public static List<String> parseList(String list) {
    List<String> keys = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (String key : list.split(",", -1)) {
      String k = key.strip();
      check(k);
      if (!seen.add(k)) {
        throw new IllegalArgumentException("label key '" + k + "' is given twice");
      }
      keys.add(k);
    }
    return List.copyOf(keys);
  }

  /** @throws IllegalArgumentException saying what is wrong with {@code key} */
  public static void check(String key) {
    if (key.isEmpty()) {
      throw new IllegalArgumentException("empty label key");
    }
    int slash = key.indexOf('/');
    String name = slash < 0 ? key : key.substring(slash + 1);
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      if (prefix.isEmpty() || prefix.length() > MAX_PREFIX || !PREFIX.matcher(prefix).matches()) {
        throw new IllegalArgumentException("label key '" + key + "': the prefix before '/' must"
            + " be a lowercase DNS subdomain of at most " + MAX_PREFIX + " characters");
      }
    }
    if (name.isEmpty() || name.length() > MAX_NAME || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("label key '" + key + "': the name must be 1 to "
          + MAX_NAME + " characters, alphanumeric at both ends, with '-', '_' and '.' inside"
          + " (and at most one '/')");
    }
  }
}
