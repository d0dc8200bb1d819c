package org.iscsicsi.csi;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs every CSI call: method, request with secrets removed ({@link Redactor}), outcome and
 * duration. Failures log at INFO (the CO retries them; they are routine), the request bodies at
 * DEBUG.
 */
public final class CallLogger implements ServerInterceptor {

  private static final Logger log = LoggerFactory.getLogger(CallLogger.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getBareMethodName();
    long start = System.nanoTime();
    ServerCall<Q, R> logged = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(R message) {
        if (log.isDebugEnabled() && message instanceof Message m) {
          log.debug("{} response: {}", method,
              TextFormat.shortDebugString(Redactor.redact(m)));
        }
        super.sendMessage(message);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        long micros = (System.nanoTime() - start) / 1000;
        if (status.isOk()) {
          log.debug("{} OK in {} us", method, micros);
        } else {
          log.info("{} failed: {} {} ({} us)", method, status.getCode(),
              status.getDescription(), micros);
        }
        super.close(status, trailers);
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(logged, headers)) {
      @Override
      public void onMessage(Q message) {
        if (log.isDebugEnabled() && message instanceof Message m) {
          log.debug("{} request: {}", method, TextFormat.shortDebugString(Redactor.redact(m)));
        }
        super.onMessage(message);
      }
    };
  }
}
