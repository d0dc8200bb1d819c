package org.iscsicsi.csi;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one server-streaming gRPC call from a body that sends its messages as it makes them,
 * with {@link UnaryCall}'s rules for refusals: a {@link StatusRuntimeException} is the call's
 * status (also after messages were sent), any other exception a bug answered INTERNAL and logged.
 */
public final class StreamCall {

  private static final Logger log = LoggerFactory.getLogger(StreamCall.class);

  /** A call body that sends each message to {@code send}. */
  @FunctionalInterface
  public interface Body<T> {
    void run(Consumer<T> send);
  }

  private StreamCall() {}

  public static <T> void answer(StreamObserver<T> out, Body<T> body) {
    try {
      body.run(out::onNext);
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RuntimeException e) {
      log.error("unexpected failure", e);
      out.onError(Status.INTERNAL.withDescription("unexpected failure: " + e).withCause(e)
          .asRuntimeException());
      return;
    }
    out.onCompleted();
  }
}
