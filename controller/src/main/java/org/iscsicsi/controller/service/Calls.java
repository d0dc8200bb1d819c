package org.iscsicsi.controller.service;

import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;
import org.iscsicsi.csi.UnaryCall;

/** Runs a unary call body and answers with its result or its gRPC status ({@link UnaryCall}). */
public final class Calls {

  private Calls() {}

  public static <T> void unary(StreamObserver<T> observer, Supplier<T> body) {
    UnaryCall.answer(observer, body::get);
  }
}
