package org.iscsicsi.target.admin;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each admin call's method, outcome and duration (DEBUG when it succeeds, INFO when the
 * engine refused it), and over mutual TLS the subject of the caller's certificate. Requests are
 * never logged: SetChap carries secrets.
 */
public final class AdminCallLog implements ServerInterceptor {

  private static final Logger log = LoggerFactory.getLogger(AdminCallLog.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    long start = System.nanoTime();
    String method = call.getMethodDescriptor().getBareMethodName() + caller(call);
    return next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        long micros = (System.nanoTime() - start) / 1000;
        if (status.isOk()) {
          log.debug("admin {} ok in {} us", method, micros);
        } else {
          log.info("admin {} {}: {} ({} us)", method, status.getCode(), status.getDescription(),
              micros);
        }
        super.close(status, trailers);
      }
    }, headers);
  }

  /** Who called over mutual TLS: " by " and the client certificate's subject; else nothing. */
  private static String caller(ServerCall<?, ?> call) {
    SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (tls == null) {
      return ""; // in-process or the unix socket: the socket's mode said who may call
    }
    try {
      return " by " + tls.getPeerPrincipal().getName();
    } catch (SSLPeerUnverifiedException e) {
      return " by an unverified peer";
    }
  }
}
