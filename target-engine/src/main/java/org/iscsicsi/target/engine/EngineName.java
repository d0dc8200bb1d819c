package org.iscsicsi.target.engine;

import java.util.regex.Pattern;
import org.iscsicsi.target.names.ShortHash;

/**
 * The name of a target engine: the engine part of the controller's volume ids
 * ({@code <engine>.<local>}), so lowercase letters, digits and '-' (not first or last), at most
 * 32 characters; {@value #POOL} is reserved for pool-mode ids. In Kubernetes an engine is named
 * after its node (docs/pools.md, section 1).
 */
public final class EngineName {

  /** The name of an engine that was given neither a name nor a node. */
  public static final String LOCAL = "local";

  /** Reserved: the first part of every pool-mode volume id, which names no engine. */
  public static final String POOL = "pool";

  public static final int MAX_LENGTH = 32;

  /** The rule, without the reservation of {@link #POOL}. */
  public static final Pattern RULE = Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");

  private static final String HASHED_PREFIX = "n-";

  private EngineName() {
  }

  /** True when {@code name} may name an engine. */
  public static boolean isValid(String name) {
    return name != null && RULE.matcher(name).matches() && !POOL.equals(name);
  }

  /** {@code name}, or an IllegalArgumentException that says the rule. */
  public static String require(String name) {
    if (!isValid(name)) {
      throw new IllegalArgumentException("engine name '" + name + "' is not valid: lowercase "
          + "letters, digits and '-' (not first or last), at most " + MAX_LENGTH
          + " characters, and not '" + POOL + "'");
    }
    return name;
  }

  /**
   * The engine name of a node: the node's name when it is a valid engine name, else {@code n-}
   * and 24 hex digits of the SHA-256 of the node name (as the controller shortens CSI names).
   */
  public static String forNode(String node) {
    if (node == null || node.isEmpty()) {
      throw new IllegalArgumentException("node name is empty");
    }
    if (isValid(node)) {
      return node;
    }
    return HASHED_PREFIX + ShortHash.of(node);
  }
}
