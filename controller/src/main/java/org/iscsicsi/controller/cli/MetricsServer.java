package org.iscsicsi.controller.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.iscsicsi.controller.server.CsiMetrics;
import org.iscsicsi.target.engine.HostPort;

/** Serves {@link CsiMetrics} on {@code /metrics} over plain HTTP (JDK server, one thread). */
final class MetricsServer implements AutoCloseable {

  private final HttpServer http;

  private MetricsServer(HttpServer http) {
    this.http = http;
  }

  static MetricsServer start(HostPort address, CsiMetrics metrics) throws IOException {
    HttpServer http = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 8);
    http.createContext("/metrics", exchange -> {
      byte[] body = metrics.render().getBytes(StandardCharsets.UTF_8);
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
