package org.iscsicsi.controller.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A fixed set of engines, and what must be closed with them (channels, an embedded engine). */
public final class EngineSet implements Engines {

  private final Map<String, Engine> engines = new LinkedHashMap<>();
  private final Closeables resources = new Closeables();

  /** Adds an engine; {@code resource} (may be null) is closed with the set, in reverse order. */
  public EngineSet add(Engine engine, AutoCloseable resource) {
    if (engines.putIfAbsent(engine.name(), engine) != null) {
      throw new IllegalArgumentException("two engines are named " + engine.name());
    }
    resources.add(resource);
    return this;
  }

  /** Closes {@code resource} with the set (before the engines added earlier). */
  public EngineSet closeWith(AutoCloseable resource) {
    resources.add(resource);
    return this;
  }

  @Override
  public List<Engine> all() {
    return List.copyOf(engines.values());
  }

  @Override
  public Optional<Engine> byName(String name) {
    return Optional.ofNullable(engines.get(name));
  }

  /** The metrics of the engines embedded in this process (remote engines serve their own). */
  public List<org.iscsicsi.target.metrics.EngineMetrics> embeddedMetrics() {
    List<org.iscsicsi.target.metrics.EngineMetrics> out = new ArrayList<>();
    for (AutoCloseable r : resources.all()) {
      if (r instanceof org.iscsicsi.target.engine.TargetEngine engine) {
        out.add(engine.metrics());
      }
    }
    return out;
  }

  @Override
  public void close() {
    resources.close();
  }
}
