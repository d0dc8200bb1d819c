package org.iscsicsi.controller.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Counts CSI calls by method and gRPC status code ({@code csi_calls_total}) and records how long
 * they took ({@code csi_call_seconds} histogram), with the Prometheus client library; rendered in
 * the Prometheus text format beside the engines' metrics (docs/metrics.md).
 */
public final class CsiMetrics implements ServerInterceptor {

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter calls = Counter.builder()
      .name("csi_calls_total")
      .help("CSI calls served, by method and gRPC status code.")
      .labelNames("method", "code")
      .register(registry);
  // Buckets from 1 ms (Identity calls) to 5 min (thick CreateVolume writes the whole LUN).
  private final Histogram seconds = Histogram.builder()
      .name("csi_call_seconds")
      .help("Time spent serving CSI calls, by method and gRPC status code.")
      .labelNames("method", "code")
      .classicOnly()
      .classicUpperBounds(0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 300)
      .register(registry);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    long start = System.nanoTime();
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        String code = status.getCode().name();
        calls.labelValues(method, code).inc();
        seconds.labelValues(method, code).observe((System.nanoTime() - start) / 1e9);
        super.close(status, trailers);
      }
    }, headers);
  }

  /** Writes the CSI metrics in the Prometheus text format (version 0.0.4). */
  public void writeText(OutputStream out) throws IOException {
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
  }
}
