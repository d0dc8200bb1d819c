package org.iscsicsi.controller.controller;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs a unary call body and answers with its result or its gRPC status. */
public final class Calls {

  private static final Logger log = LoggerFactory.getLogger(Calls.class);

  private Calls() {}

  public static <T> void unary(StreamObserver<T> observer, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    } catch (RuntimeException e) {
      log.error("internal error", e);
      observer.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e)
          .asRuntimeException());
      return;
    }
    observer.onNext(result);
    observer.onCompleted();
  }
}
