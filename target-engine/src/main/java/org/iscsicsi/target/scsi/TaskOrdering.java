package org.iscsicsi.target.scsi;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Task attributes of one logical unit's task set (SAM-5 8.6): SIMPLE tasks run as soon as they
 * arrive, in any order among themselves; an ORDERED task starts only when every earlier task has
 * completed, and later tasks wait for it; HEAD OF QUEUE tasks start at once. Tasks arrive here in
 * command order, so "earlier" is arrival order.
 */
final class TaskOrdering {

  private CompletableFuture<Void> barrier = CompletableFuture.completedFuture(null);
  private final Set<CompletableFuture<ScsiResponse>> inFlight = ConcurrentHashMap.newKeySet();

  synchronized CompletionStage<ScsiResponse> submit(TaskAttribute attribute,
      Supplier<CompletionStage<ScsiResponse>> task) {
    if (attribute == TaskAttribute.HEAD_OF_QUEUE) {
      return task.get();
    }
    if (attribute == TaskAttribute.ORDERED) {
      List<CompletableFuture<?>> earlier = new ArrayList<>(inFlight);
      earlier.add(barrier);
      CompletableFuture<ScsiResponse> result =
          CompletableFuture.allOf(earlier.toArray(CompletableFuture[]::new))
              .thenCompose(v -> task.get());
      inFlight.clear();
      barrier = result.handle((r, t) -> null);
      return result;
    }
    CompletableFuture<ScsiResponse> result = barrier.isDone()
        ? task.get().toCompletableFuture()
        : barrier.thenCompose(v -> task.get());
    if (!result.isDone()) {
      inFlight.add(result);
      result.whenComplete((r, t) -> inFlight.remove(result));
    }
    return result;
  }
}
