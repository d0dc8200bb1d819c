package org.iscsicsi.controller.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A fixed set of engines, and what must be closed with them (channels, an embedded engine). */
public final class EngineSet implements Engines {

  private static final Logger log = LoggerFactory.getLogger(EngineSet.class);

  private final Map<String, Engine> engines = new LinkedHashMap<>();
  private final List<AutoCloseable> resources = new ArrayList<>();

  /** Adds an engine; {@code resource} (may be null) is closed with the set, in reverse order. */
  public EngineSet add(Engine engine, AutoCloseable resource) {
    if (engines.putIfAbsent(engine.name(), engine) != null) {
      throw new IllegalArgumentException("two engines are named " + engine.name());
    }
    if (resource != null) {
      resources.add(resource);
    }
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
    for (AutoCloseable r : resources) {
      if (r instanceof org.iscsicsi.target.engine.TargetEngine engine) {
        out.add(engine.metrics());
      }
    }
    return out;
  }

  @Override
  public void close() {
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        log.warn("closing engine resource {} failed", resources.get(i), e);
      }
    }
    resources.clear();
  }
}
