package org.iscsicsi.controller.service;

import csi.v1.Csi;
import csi.v1.SnapshotMetadataGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.csi.StreamCall;
import org.iscsicsi.target.v1.BlockRange;
import org.iscsicsi.target.v1.SnapshotBlocks;

/**
 * The CSI SnapshotMetadata service (changed-block tracking, KEP-3314): the allocated ranges of a
 * snapshot and the ranges that changed between two snapshots of one volume, as the engine
 * computes them from the snapshots' files (exact, block-aligned, variable length). Each answer
 * carries up to max_results ranges (256 when 0, at most 4096) and the stream goes on from the end
 * of the last range until the snapshot's end. Served by the leader only.
 */
public final class SnapshotMetadataService extends SnapshotMetadataGrpc.SnapshotMetadataImplBase {

  /** Ranges per message when the caller leaves max_results at 0. */
  static final int DEFAULT_RANGES = 256;
  /** The most ranges per message, what the engine answers at most (TargetRegistry's cap). */
  static final int MAX_RANGES = 4096;

  private final VolumeFinder finder;
  private final BooleanSupplier leading;

  SnapshotMetadataService(VolumeFinder finder, BooleanSupplier leading) {
    this.finder = finder;
    this.leading = leading;
  }

  @Override
  public void getMetadataAllocated(Csi.GetMetadataAllocatedRequest req,
      StreamObserver<Csi.GetMetadataAllocatedResponse> out) {
    StreamCall.answer(out, send -> {
      requireLeader();
      if (req.getSnapshotId().isEmpty()) {
        throw CsiErrors.invalid("snapshot_id is required");
      }
      stream(null, req.getSnapshotId(), req.getStartingOffset(), req.getMaxResults(),
          b -> send.accept(Csi.GetMetadataAllocatedResponse.newBuilder()
              .setBlockMetadataType(Csi.BlockMetadataType.VARIABLE_LENGTH)
              .setVolumeCapacityBytes(b.getSizeBytes())
              .addAllBlockMetadata(b.getRangesList().stream().map(this::toCsi).toList())
              .build()));
    });
  }

  @Override
  public void getMetadataDelta(Csi.GetMetadataDeltaRequest req,
      StreamObserver<Csi.GetMetadataDeltaResponse> out) {
    StreamCall.answer(out, send -> {
      requireLeader();
      if (req.getBaseSnapshotId().isEmpty()) {
        throw CsiErrors.invalid("base_snapshot_id is required");
      }
      if (req.getTargetSnapshotId().isEmpty()) {
        throw CsiErrors.invalid("target_snapshot_id is required");
      }
      stream(req.getBaseSnapshotId(), req.getTargetSnapshotId(), req.getStartingOffset(),
          req.getMaxResults(), b -> send.accept(Csi.GetMetadataDeltaResponse.newBuilder()
              .setBlockMetadataType(Csi.BlockMetadataType.VARIABLE_LENGTH)
              .setVolumeCapacityBytes(b.getSizeBytes())
              .addAllBlockMetadata(b.getRangesList().stream().map(this::toCsi).toList())
              .build()));
    });
  }

  /**
   * Sends the engine's answers from {@code start} on, one per message, until the snapshot's end
   * or an answer without ranges. The first answer is always sent, so the caller learns the
   * volume's size even when nothing is allocated or changed.
   */
  private void stream(String baseId, String id, long start, int maxResults,
      Consumer<SnapshotBlocks> send) {
    if (maxResults < 0) {
      throw CsiErrors.invalid("max_results must not be negative");
    }
    if (start < 0) {
      throw CsiErrors.outOfRange("starting_offset " + start + " is negative");
    }
    int max = maxResults == 0 ? DEFAULT_RANGES : Math.min(maxResults, MAX_RANGES);
    VolumeFinder.FoundSnapshot target = finder.findSnapshot(id)
        .orElseThrow(() -> CsiErrors.notFound("snapshot " + id + " does not exist"));
    String baseLocal = "";
    if (baseId != null) {
      VolumeFinder.FoundSnapshot base = finder.findSnapshot(baseId)
          .orElseThrow(() -> CsiErrors.notFound("snapshot " + baseId + " does not exist"));
      if (!base.engine().name().equals(target.engine().name())) {
        throw CsiErrors.invalid("snapshots " + baseId + " and " + id + " are of different"
            + " volumes; a delta compares two snapshots of one volume");
      }
      baseLocal = base.snapshot().getId();
    }
    long pos = start;
    boolean first = true;
    while (true) {
      SnapshotBlocks b = target.engine().client().snapshotBlocks(baseLocal,
          target.snapshot().getId(), pos, max);
      if (first || b.getRangesCount() > 0) {
        send.accept(b);
      }
      first = false;
      if (b.getRangesCount() < max) {
        return;
      }
      BlockRange last = b.getRanges(b.getRangesCount() - 1);
      pos = last.getOffset() + last.getLength();
      if (pos >= b.getSizeBytes()) {
        return;
      }
    }
  }

  private Csi.BlockMetadata toCsi(BlockRange r) {
    return Csi.BlockMetadata.newBuilder().setByteOffset(r.getOffset()).setSizeBytes(r.getLength())
        .build();
  }

  private void requireLeader() {
    if (!leading.getAsBoolean()) {
      throw Status.UNAVAILABLE.withDescription("this controller replica is not the leader")
          .asRuntimeException();
    }
  }
}
