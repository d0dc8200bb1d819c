package org.iscsicsi.controller.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Map;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.Transfer;
import org.iscsicsi.target.v1.TransferInto;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills a new volume's LUN 0 on one engine from a snapshot or a volume on another
 * (docs/pools.md section 6), before CreateVolume returns: the source engine sends a snapshot
 * (for a clone, a snapshot it takes of the source volume first, kept out of the index and deleted
 * afterwards) over the replication port, the destination writes and verifies every region, and
 * only then does LUN 0 exist. Transfers survive nothing: one that fails or outlives its time is
 * cancelled (the destination deletes its copy) and CreateVolume fails ABORTED; the provisioner's
 * retry starts over.
 */
final class CloneTransfer {

  private static final Logger log = LoggerFactory.getLogger(CloneTransfer.class);
  static final Duration POLL = Duration.ofMillis(200);
  /** A transfer prefix of ids: the snapshot a clone sends from, and the transfer itself. */
  static final String PREFIX = "transfer.";

  private final Duration timeout;

  CloneTransfer(Duration timeout) {
    this.timeout = timeout;
  }

  /**
   * @param snapshotId the source snapshot's engine id, or null to snapshot {@code sourceIqn}
   */
  void fill(Engine source, String snapshotId, String sourceIqn, Engine destination, VolumeId id,
      String iqn, long size, boolean thick) {
    String address = destination.client().info().getReplicationAddress();
    if (address.isEmpty()) {
      throw CsiErrors.exhausted("engine " + destination.name() + " has no replication port, "
          + "so it cannot take a copy of a volume on engine " + source.name());
    }
    String temporary = null;
    String from = snapshotId;
    if (from == null) {
      temporary = PREFIX + id.local();
      source.client().createSnapshot(temporary, sourceIqn, Map.of());
      from = temporary;
    }
    String transferId = PREFIX + id.local();
    try {
      StartTransferRequest req = StartTransferRequest.newBuilder().setId(transferId)
          .setSourceSnapshotId(from).setDestinationEngine(destination.name())
          .setDestinationAddress(address).setInto(TransferInto.newBuilder().setTarget(iqn)
              .setLun(0).setSizeBytes(size).setThick(thick)).build();
      Transfer t = await(source, source.client().startTransfer(req));
      if (!t.getState().equals("DONE")) {
        throw CsiErrors.aborted("copying volume " + id + " from engine " + source.name()
            + " to engine " + destination.name() + " " + t.getState().toLowerCase()
            + (t.getError().isEmpty() ? "" : ": " + t.getError())
            + "; CreateVolume starts it over when retried");
      }
      log.info("volume {} filled on engine {} from engine {}: {} bytes sent", id,
          destination.name(), source.name(), t.getDoneBytes());
    } finally {
      if (temporary != null) {
        try {
          source.client().deleteSnapshot(temporary);
        } catch (StatusRuntimeException e) {
          log.warn("the transfer snapshot {} on engine {} could not be deleted: {}", temporary,
              source.name(), e.getStatus());
        }
      }
    }
  }

  /** Polls the transfer until it ends, cancelling it when it outlives the timeout. */
  Transfer await(Engine source, Transfer t) {
    return await(source, polled -> { }, t);
  }

  /** As {@link #await(Engine, Transfer)}, handing every state polled to {@code polled}. */
  Transfer await(Engine source, java.util.function.Consumer<Transfer> polled, Transfer t) {
    long until = System.nanoTime() + timeout.toNanos();
    while (t.getState().equals("PENDING") || t.getState().equals("RUNNING")) {
      if (System.nanoTime() > until) {
        Transfer cancelled = source.client().cancelTransfer(t.getId());
        return cancelled.toBuilder().setState("CANCELLED").setError("took longer than "
            + timeout).build();
      }
      try {
        Thread.sleep(POLL);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        source.client().cancelTransfer(t.getId());
        throw Status.ABORTED.withDescription("interrupted while copying").asRuntimeException();
      }
      t = source.client().transfer(t.getId());
      polled.accept(t);
    }
    return t;
  }
}
