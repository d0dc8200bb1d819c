package org.iscsicsi.controller.engine;

import java.util.List;
import java.util.Optional;

/**
 * The target engines behind this controller: the embedded one by default, or remote ones.
 * The CSI services reach engines only through this interface.
 */
public interface Engines extends AutoCloseable {

  /** Every engine, in configuration order. */
  List<Engine> all();

  Optional<Engine> byName(String name);

  /** The engines new volumes, replicas and clones may be placed on. */
  default List<Engine> schedulable() {
    return all().stream().filter(e -> e.state().schedulable()).toList();
  }

  /**
   * True in pool mode (docs/pools.md): volume ids are {@code pool.<local>} and name no engine;
   * the controller finds a volume's engines through its index. False for the embedded default
   * and static engines, whose ids start with the engine's name.
   */
  default boolean pooled() {
    return false;
  }

  @Override
  void close();
}
