package org.iscsicsi.target.engine;

/**
 * Which name an engine asks for: an explicit one, else its node's ({@link EngineName#forNode}),
 * else whatever its state directory records ({@link EngineName#LOCAL} for a new one).
 *
 * @param name the explicit name ({@code --name}), or null
 * @param node the Kubernetes node the engine runs on ({@code --node}, $NODE_NAME), or null
 * @param rename whether the state directory may take this name when it records another one
 */
public record EngineNaming(String name, String node, boolean rename) {

  /** No name asked for: the state directory's, or {@link EngineName#LOCAL}. */
  public static final EngineNaming DEFAULT = new EngineNaming(null, null, false);

  public EngineNaming {
    name = blankToNull(name);
    node = blankToNull(node);
    if (name != null) {
      EngineName.require(name);
    }
  }

  /** The name asked for, or null when the engine takes what its state directory records. */
  public String requested() {
    if (name != null) {
      return name;
    }
    return node == null ? null : EngineName.forNode(node);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
