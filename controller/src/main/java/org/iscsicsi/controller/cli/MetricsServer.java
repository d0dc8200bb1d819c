package org.iscsicsi.controller.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;
import org.iscsicsi.controller.server.CsiMetrics;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.metrics.EngineMetrics;

/**
 * Serves {@link CsiMetrics} and the embedded target engines' metrics (docs/metrics.md) on
 * {@code /metrics} over plain HTTP (JDK server, one thread).
 */
final class MetricsServer implements AutoCloseable {

  private final HttpServer http;

  private MetricsServer(HttpServer http) {
    this.http = http;
  }

  static MetricsServer start(HostPort address, CsiMetrics metrics) throws IOException {
    return start(address, metrics, List::of);
  }

  static MetricsServer start(HostPort address, CsiMetrics metrics,
      Supplier<List<EngineMetrics>> engines) throws IOException {
    HttpServer http = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 8);
    http.createContext("/metrics", exchange -> {
      ByteArrayOutputStream text = new ByteArrayOutputStream();
      metrics.writeText(text);
      for (EngineMetrics engine : engines.get()) {
        engine.writeText(text);
      }
      byte[] body = text.toByteArray();
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    return new MetricsServer(http);
  }

  int port() {
    return http.getAddress().getPort();
  }

  @Override
  public void close() {
    http.stop(0);
  }
}
