package org.iscsicsi.controller.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts CSI calls by method and status code, with their total duration, and renders them in the
 * Prometheus text exposition format ({@code csi_calls_total}, {@code csi_call_seconds_sum}).
 */
public final class CsiMetrics implements ServerInterceptor {

  private record Key(String method, String code) {}

  private record Counts(LongAdder calls, LongAdder nanos) {}

  private final ConcurrentHashMap<Key, Counts> counts = new ConcurrentHashMap<>();

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    long start = System.nanoTime();
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        Counts c = counts.computeIfAbsent(new Key(method, status.getCode().name()),
            k -> new Counts(new LongAdder(), new LongAdder()));
        c.calls().increment();
        c.nanos().add(System.nanoTime() - start);
        super.close(status, trailers);
      }
    }, headers);
  }

  /** The counters in Prometheus text format 0.0.4. */
  public String render() {
    Map<Key, Counts> sorted = new TreeMap<>(
        java.util.Comparator.comparing(Key::method).thenComparing(Key::code));
    sorted.putAll(counts);
    StringBuilder sb = new StringBuilder();
    sb.append("# HELP csi_calls_total CSI calls served, by method and gRPC status code.\n");
    sb.append("# TYPE csi_calls_total counter\n");
    sorted.forEach((k, c) -> sb.append("csi_calls_total{method=\"").append(k.method())
        .append("\",code=\"").append(k.code()).append("\"} ").append(c.calls().sum())
        .append('\n'));
    sb.append("# HELP csi_call_seconds_sum Time spent serving CSI calls.\n");
    sb.append("# TYPE csi_call_seconds_sum counter\n");
    sorted.forEach((k, c) -> sb.append("csi_call_seconds_sum{method=\"").append(k.method())
        .append("\",code=\"").append(k.code()).append("\"} ")
        .append(c.nanos().sum() / 1e9).append('\n'));
    return sb.toString();
  }
}
