package org.iscsicsi.controller.engine;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe loop of pool mode: every {@link #PROBE_INTERVAL} it lets the directory expire
 * Leases and asks every engine with a fresh Lease for {@code GetEngineInfo} with a deadline of
 * {@link #PROBE_DEADLINE}; an engine that joins or restarts is probed at once. Probes are
 * asynchronous, so a silent engine costs its own deadline and delays no other.
 */
public final class EngineHealth implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineHealth.class);

  public static final Duration PROBE_INTERVAL = Duration.ofSeconds(2);
  public static final Duration PROBE_DEADLINE = Duration.ofSeconds(1);

  private final EngineDirectory directory;
  private final Duration deadline;
  private final ScheduledExecutorService timer;

  private EngineHealth(EngineDirectory directory, Duration deadline) {
    this.directory = directory;
    this.deadline = deadline;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "engine-health");
      t.setDaemon(true);
      return t;
    });
  }

  /** Probes with the defaults (every 2 s, 1 s deadline). */
  public static EngineHealth start(EngineDirectory directory) {
    return start(directory, PROBE_INTERVAL, PROBE_DEADLINE);
  }

  public static EngineHealth start(EngineDirectory directory, Duration interval,
      Duration deadline) {
    EngineHealth h = new EngineHealth(directory, deadline);
    directory.addListener((before, after) -> {
      if (after != null && after.reachability() == Reachability.JOINING
          && (before == null || before.reachability() != Reachability.JOINING)) {
        h.timer.execute(() -> directory.probeTarget(after.name()).ifPresent(h::probe));
      }
    });
    h.timer.scheduleWithFixedDelay(h::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    return h;
  }

  private void tick() {
    try {
      directory.refresh();
      directory.probeTargets().forEach(this::probe);
    } catch (RuntimeException e) {
      log.warn("engine probe pass failed", e);
    }
  }

  private void probe(EngineDirectory.ProbeTarget t) {
    ListenableFuture<EngineInfo> answer;
    try {
      answer = TargetAdminGrpc.newFutureStub(t.channel())
          .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
    } catch (RuntimeException e) { // the channel could not be opened
      directory.probeFailed(t.name(), t.incarnation(), describe(e));
      return;
    }
    Futures.addCallback(answer, new FutureCallback<>() {
      @Override
      public void onSuccess(EngineInfo info) {
        directory.probeAnswered(t.name(), t.incarnation(), info);
      }

      @Override
      public void onFailure(Throwable error) {
        directory.probeFailed(t.name(), t.incarnation(), describe(error));
      }
    }, MoreExecutors.directExecutor());
  }

  /** The gRPC status of a failed probe and its cause, as the condition's message shows it. */
  static String describe(Throwable error) {
    Status s = Status.fromThrowable(error);
    StringBuilder b = new StringBuilder(s.getCode().name());
    if (s.getDescription() != null) {
      b.append(": ").append(s.getDescription());
    }
    Throwable cause = s.getCause();
    while (cause != null && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause != null && cause.getMessage() != null
        && (s.getDescription() == null || !s.getDescription().contains(cause.getMessage()))) {
      b.append(" (").append(cause.getMessage()).append(')');
    }
    return b.toString();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
