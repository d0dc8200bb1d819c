package org.iscsicsi.target.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;

/**
 * Serves {@link EngineMetrics} on {@code http://HOST:PORT/metrics} (the Prometheus exporter's
 * JDK HTTP server). Off unless asked for: {@code serve --metrics HOST:PORT}.
 */
public final class MetricsServer implements AutoCloseable {

  private final HTTPServer http;

  private MetricsServer(HTTPServer http) {
    this.http = http;
  }

  /** Binds {@code host:port} (port 0 picks a free one) and starts serving. */
  public static MetricsServer start(String host, int port, EngineMetrics metrics)
      throws IOException {
    try {
      return new MetricsServer(HTTPServer.builder().hostname(host).port(port)
          .registry(metrics.registry()).buildAndStart());
    } catch (IOException e) {
      throw new IOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(),
          e);
    }
  }

  /** The port really bound. */
  public int port() {
    return http.getPort();
  }

  @Override
  public void close() {
    http.close();
  }
}
