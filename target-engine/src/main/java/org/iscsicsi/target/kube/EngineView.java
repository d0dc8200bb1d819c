package org.iscsicsi.target.kube;

import io.grpc.Channel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;

/**
 * What the registration reports about its engine, read through the engine's own admin API (the
 * in-process channel), so the report says what the controller would see.
 */
public interface EngineView {

  EngineInfo info();

  /** How many snapshots the engine holds. */
  int snapshots();

  /** A view through {@code channel}, each call bounded by {@code deadline}. */
  static EngineView of(Channel channel, Duration deadline) {
    var admin = TargetAdminGrpc.newBlockingStub(channel);
    return new EngineView() {
      @Override
      public EngineInfo info() {
        return admin.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
            .getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
      }

      @Override
      public int snapshots() {
        return admin.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
            .listSnapshots(ListSnapshotsRequest.getDefaultInstance()).getSnapshotsCount();
      }
    };
  }
}
