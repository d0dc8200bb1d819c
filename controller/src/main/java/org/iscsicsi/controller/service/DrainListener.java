package org.iscsicsi.controller.service;

/**
 * Hears the {@link Drainer}: where each draining engine stands, often (every step and while
 * bytes move, so a listener that writes somewhere coalesces), and the steps to announce. Called
 * on the drainer's thread; must not block on the API server.
 */
public interface DrainListener {

  void progress(DrainProgress progress);

  void event(DrainEvent event);

  /** Nobody listens (no Kubernetes API): the controller's log has the drain. */
  DrainListener NONE = new DrainListener() {
    @Override
    public void progress(DrainProgress progress) {
    }

    @Override
    public void event(DrainEvent event) {
    }
  };
}
