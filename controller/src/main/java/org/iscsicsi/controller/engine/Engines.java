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

  @Override
  void close();
}
