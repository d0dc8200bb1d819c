package org.iscsicsi.csi;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one unary gRPC call from a body: its result, or the status the body refused with. A
 * {@link StatusRuntimeException} passes through as it is; the body's own checked refusal is
 * mapped by the caller's function; any other exception is a bug and answers INTERNAL, logged
 * with its stack trace (the CSI spec leaves INTERNAL for exactly that). The one way the
 * controller's and the node plugin's services answer calls.
 */
public final class UnaryCall {

  private static final Logger log = LoggerFactory.getLogger(UnaryCall.class);

  /** A call body that may refuse with a checked exception {@code E}. */
  @FunctionalInterface
  public interface Body<T, E extends Exception> {
    T run() throws E;
  }

  /** A call body whose refusals are {@link StatusRuntimeException}s. */
  @FunctionalInterface
  public interface UncheckedBody<T> {
    T run();
  }

  private UnaryCall() {}

  /** Runs {@code body}; its StatusRuntimeExceptions are the answer's status. */
  public static <T> void answer(StreamObserver<T> out, UncheckedBody<T> body) {
    answer(out, body::run, e -> {
      throw new IllegalStateException("an unchecked body threw " + e, e);
    });
  }

  /**
   * Runs {@code body}; a checked exception it throws is answered with what {@code refusal} makes
   * of it (a StatusException or StatusRuntimeException).
   */
  public static <T, E extends Exception> void answer(StreamObserver<T> out, Body<T, E> body,
      Function<? super E, ? extends Exception> refusal) {
    T result;
    try {
      result = body.run();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RuntimeException e) {
      out.onError(unexpected(e));
      return;
    } catch (Exception e) {
      // Body<T, E> declares only E, so every checked exception here is an E
      @SuppressWarnings("unchecked")
      E refused = (E) e;
      out.onError(refusal.apply(refused));
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }

  /** The INTERNAL answer to a failure no refusal explains (a bug), logged with its stack. */
  static StatusRuntimeException unexpected(RuntimeException e) {
    log.error("unexpected failure", e);
    return Status.INTERNAL.withDescription("unexpected failure: " + e).withCause(e)
        .asRuntimeException();
  }
}
