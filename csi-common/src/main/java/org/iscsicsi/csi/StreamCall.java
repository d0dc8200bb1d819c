package org.iscsicsi.csi;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;

/**
 * Answers one server-streaming gRPC call from a body that sends its messages as it makes them,
 * with {@link UnaryCall}'s rules for refusals: a {@link StatusRuntimeException} is the call's
 * status (also after messages were sent), any other exception a bug answered INTERNAL and logged.
 */
public final class StreamCall {

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
      out.onError(UnaryCall.unexpected(e));
      return;
    }
    out.onCompleted();
  }
}
