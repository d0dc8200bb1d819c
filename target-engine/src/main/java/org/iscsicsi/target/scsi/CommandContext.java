package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.SpaceExhaustedException;
import org.iscsicsi.target.lun.UnitIo;
import org.iscsicsi.target.lun.UnitNotReadyException;
import org.iscsicsi.target.qos.LunThrottle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What a command runs against: the request, its nexus, the target port and the LUN's state. */
final class CommandContext {

  private static final Logger log = LoggerFactory.getLogger(CommandContext.class);

  final ScsiRequest request;
  final byte[] cdb;
  final ItNexus nexus;
  final NexusId nexusId;
  final ScsiTargetDevice port;
  /** The addressed LUN's state, or null when no LUN has that number. */
  final LunState lu;
  private final Executor io;
  private final boolean inline;

  CommandContext(ScsiRequest request, ScsiTargetDevice port, LunState lu, Executor io,
      boolean inline) {
    this.request = request;
    this.cdb = request.cdb();
    this.nexus = request.nexus();
    this.nexusId = NexusId.of(request.nexus());
    this.port = port;
    this.lu = lu;
    this.io = io;
    this.inline = inline;
  }

  LogicalUnit unit() {
    return lu.unit;
  }

  /** Where writes, flushes and unmaps go (the unit, or a replicated unit in front of it). */
  UnitIo io() {
    return lu.io();
  }

  int blockSize() {
    return lu.unit.blockSize();
  }

  long blocks() {
    return lu.unit.blocks();
  }

  boolean readOnly() {
    return lu.readOnly(nexus);
  }

  /** DATA PROTECT, WRITE PROTECTED when the LUN or this nexus is read-only. */
  void checkWritable() throws CheckCondition {
    if (readOnly()) {
      throw new CheckCondition(Sense.WRITE_PROTECTED);
    }
  }

  /** LOGICAL BLOCK ADDRESS OUT OF RANGE unless [lba, lba+count) lies within the medium. */
  void checkRange(long lba, long count) throws CheckCondition {
    long blocks = blocks();
    if (Long.compareUnsigned(lba, blocks) >= 0 && !(count == 0 && lba == blocks)
        || Long.compareUnsigned(count, blocks - lba) > 0) {
      throw new CheckCondition(Sense.LBA_OUT_OF_RANGE);
    }
  }

  int dataOutLength() {
    ByteBuf d = request.dataOut();
    return d == null ? 0 : d.readableBytes();
  }

  ByteBuf dataOut() {
    return request.dataOut();
  }

  /**
   * The parameter list of a command with a PARAMETER LIST LENGTH field: the first {@code length}
   * bytes of Data-Out (fewer if the initiator sent fewer).
   */
  byte[] parameterList(int length) {
    int n = Math.min(length, dataOutLength());
    byte[] b = new byte[n];
    if (n > 0) {
      request.dataOut().getBytes(request.dataOut().readerIndex(), b);
    }
    return b;
  }

  /** GOOD with {@code data} cut to the CDB's allocation length. */
  static CompletionStage<ScsiResponse> data(byte[] data, long allocationLength) {
    int n = (int) Math.min(data.length, allocationLength);
    return CompletableFuture.completedFuture(
        n == 0 ? ScsiResponse.good() : ScsiResponse.good(Unpooled.wrappedBuffer(data, 0, n)));
  }

  static CompletionStage<ScsiResponse> good() {
    return CompletableFuture.completedFuture(ScsiResponse.good());
  }

  /** Work that touches the backing file. */
  @FunctionalInterface
  interface IoTask {
    ScsiResponse call() throws IOException, CheckCondition;
  }

  /**
   * Runs file I/O on the I/O executor (never on the caller's thread, which may be a netty event
   * loop) and maps failures to sense data: ENOSPC to SPACE ALLOCATION FAILED WRITE PROTECT, other
   * I/O errors to MEDIUM ERROR (unrecovered read error or write error), an unusable backing file
   * to NOT READY.
   */
  CompletionStage<ScsiResponse> io(boolean writing, IoTask task) {
    CompletableFuture<ScsiResponse> result = new CompletableFuture<>();
    try {
      io.execute(() -> {
        try {
          result.complete(call(writing, task));
        } catch (Error e) {
          // never leave the initiator's task hanging: INTERNAL TARGET FAILURE, then let it surface
          result.complete(new CheckCondition(Sense.of(Sense.ABORTED_COMMAND, 0x44, 0x00))
              .toResponse());
          throw e;
        }
      });
    } catch (RejectedExecutionException e) {
      result.complete(new ScsiResponse(ScsiResponse.BUSY, new byte[0], null));
    }
    return result;
  }

  /**
   * Tries {@code attempt} on the caller's thread first: it must never block (page-cache reads with
   * RWF_NOWAIT, sendfile ranges, small buffered writes) and returns null to decline, in which case
   * {@code task} runs on the I/O executor as with {@link #io(boolean, IoTask)}. Saves the two
   * thread hops per command that dominate small I/O.
   */
  CompletionStage<ScsiResponse> io(boolean writing, IoTask attempt, IoTask task) {
    if (!inline) {
      return io(writing, task);
    }
    ScsiResponse done = call(writing, attempt);
    return done != null ? CompletableFuture.completedFuture(done) : io(writing, task);
  }

  /**
   * A READ or WRITE of {@code bytes} under the LUN's I/O limits: without limits exactly
   * {@link #io(boolean, IoTask, IoTask)} ({@code attempt} may be null). A command the limits hold
   * back waits on the throttle's timer and then runs {@code attempt} and, if that declines,
   * {@code task} on the I/O executor; one the throttle refuses gets TASK SET FULL (SAM-5 5.3.1),
   * which initiators retry.
   */
  CompletionStage<ScsiResponse> limitedIo(boolean writing, int bytes, IoTask attempt,
      IoTask task) {
    LunThrottle throttle = lu.unit.throttle();
    if (!throttle.limited()) {
      return attempt == null ? io(writing, task) : io(writing, attempt, task);
    }
    CompletableFuture<ScsiResponse> result = new CompletableFuture<>();
    throttle.submit(writing, bytes, deferred -> {
      CompletionStage<ScsiResponse> stage;
      if (attempt == null) {
        stage = io(writing, task);
      } else if (deferred) {
        stage = io(writing, () -> {
          ScsiResponse r = attempt.call();
          return r != null ? r : task.call();
        });
      } else {
        stage = io(writing, attempt, task);
      }
      stage.whenComplete((r, e) -> {
        if (e != null) {
          result.completeExceptionally(e);
        } else {
          result.complete(r);
        }
      });
    }, () -> result.complete(new ScsiResponse(ScsiResponse.TASK_SET_FULL, new byte[0], null)));
    return result;
  }

  private ScsiResponse call(boolean writing, IoTask task) {
    try {
      return task.call();
    } catch (CheckCondition c) {
      return c.toResponse();
    } catch (UnitNotReadyException e) {
      log.info("{} LUN {}: not ready: {}", port.targetName(), lu.lun, e.getMessage());
      return new CheckCondition(Sense.of(Sense.NOT_READY, e.asc(), e.ascq())).toResponse();
    } catch (SpaceExhaustedException e) {
      log.warn("{}: {}", port.targetName(), e.getMessage());
      return new CheckCondition(Sense.SPACE_ALLOCATION_FAILED).toResponse();
    } catch (IOException | RuntimeException e) {
      return ioFailure(writing, e);
    }
  }

  private ScsiResponse ioFailure(boolean writing, Exception e) {
    if (lu.unit.condition().isPresent()) {
      log.warn("{} LUN {}: {}", port.targetName(), lu.lun, lu.unit.condition().get());
      return new CheckCondition(Sense.NOT_READY_MANUAL_INTERVENTION).toResponse();
    }
    log.warn("{} LUN {}: I/O error: {}", port.targetName(), lu.lun, e.toString());
    return new CheckCondition(writing ? Sense.WRITE_ERROR : Sense.UNRECOVERED_READ_ERROR)
        .toResponse();
  }
}
