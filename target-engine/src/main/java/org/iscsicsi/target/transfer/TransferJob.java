package org.iscsicsi.target.transfer;

import com.google.protobuf.ByteString;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.Transfer;

/** One transfer this engine sends, as GetTransfer shows it. Fields change on its own thread. */
final class TransferJob {

  /** The life of a transfer. */
  enum State { PENDING, RUNNING, DONE, FAILED, CANCELLED;

    boolean finished() {
      return this == DONE || this == FAILED || this == CANCELLED;
    }
  }

  final StartTransferRequest request;
  final AtomicLong doneBytes = new AtomicLong();
  volatile long totalBytes;
  volatile State state = State.PENDING;
  volatile String error = "";
  volatile byte[] contentHash = new byte[0];
  volatile boolean cancelRequested;
  volatile FrameChannel channel;
  volatile Thread thread;

  TransferJob(StartTransferRequest request) {
    this.request = request;
  }

  Transfer toProto() {
    return Transfer.newBuilder()
        .setId(request.getId())
        .setState(state.name())
        .setDoneBytes(doneBytes.get())
        .setTotalBytes(totalBytes)
        .setError(error)
        .setContentHash(ByteString.copyFrom(contentHash))
        .setDestinationEngine(request.getDestinationEngine())
        .build();
  }
}
