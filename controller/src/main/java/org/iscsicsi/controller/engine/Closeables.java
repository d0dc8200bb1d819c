package org.iscsicsi.controller.engine;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a component must close when it stops, closed in reverse order of adding (what was started
 * last depends on what was started first); a failure is logged and the rest still close.
 */
public final class Closeables implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Closeables.class);

  private final List<AutoCloseable> resources = new ArrayList<>();

  /** Adds {@code resource} (ignored when null) and returns it. */
  public synchronized <T extends AutoCloseable> T add(T resource) {
    if (resource != null) {
      resources.add(resource);
    }
    return resource;
  }

  /** The resources added so far, in order. */
  public synchronized List<AutoCloseable> all() {
    return List.copyOf(resources);
  }

  @Override
  public void close() {
    List<AutoCloseable> toClose;
    synchronized (this) {
      toClose = new ArrayList<>(resources);
      resources.clear();
    }
    for (AutoCloseable r : toClose.reversed()) {
      try {
        r.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.warn("interrupted while closing {}", r);
      } catch (Exception e) {
        log.warn("closing {} failed", r, e);
      }
    }
  }
}
