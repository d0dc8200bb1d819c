package org.iscsicsi.csi;

import java.nio.file.Path;
import java.util.Locale;

/**
 * A gRPC endpoint as CSI deployments write it (CSI spec, "Plugin Discovery": the CO talks to the
 * plugin over a unix socket named in CSI_ENDPOINT): {@code unix:///abs/path.sock} (or
 * {@code unix:/abs/path.sock}, gRPC's other spelling) or {@code tcp://host:port} (port 0 picks a
 * free one when listening). {@link #unixPath} is the one parser of the unix forms: the engine's
 * admin address takes the same ones.
 */
public sealed interface Endpoint {

  /** The scheme of a unix socket address, as gRPC names it. */
  String UNIX = "unix:";

  record Unix(Path path) implements Endpoint {
    @Override
    public String toString() {
      return "unix://" + path;
    }
  }

  record Tcp(String host, int port) implements Endpoint {
    @Override
    public String toString() {
      return "tcp://" + new HostPort(host, port);
    }
  }

  /**
   * Parses an endpoint.
   *
   * @throws IllegalArgumentException with the accepted forms when {@code s} is neither
   */
  static Endpoint parse(String s) {
    String lower = s.toLowerCase(Locale.ROOT);
    if (lower.startsWith(UNIX)) {
      return new Unix(unixPath(s));
    }
    if (lower.startsWith("tcp://")) {
      HostPort hp;
      try {
        hp = HostPort.parse(s.substring("tcp://".length()), -1);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("endpoint " + s + ": expected tcp://HOST:PORT ("
            + e.getMessage() + ")", e);
      }
      return new Tcp(hp.host(), hp.port());
    }
    throw new IllegalArgumentException("endpoint " + s
        + ": expected unix:///path/to.sock or tcp://HOST:PORT");
  }

  /**
   * The socket path of {@code unix:/abs/path} or {@code unix:///abs/path} (the scheme in any
   * case), normalized.
   *
   * @throws IllegalArgumentException when {@code s} is not one of these or the path is relative
   *     or the root
   */
  static Path unixPath(String s) {
    if (!s.regionMatches(true, 0, UNIX, 0, UNIX.length())) {
      throw new IllegalArgumentException("'" + s + "' is not a unix socket address (unix:/path)");
    }
    String path = s.substring(UNIX.length());
    if (path.startsWith("//")) {
      path = path.substring(2); // unix:///abs: an empty authority before the absolute path
    }
    Path p = path.startsWith("/") ? Path.of(path).normalize() : null;
    if (p == null || p.getNameCount() == 0) {
      throw new IllegalArgumentException("'" + s + "': a unix socket needs an absolute path, e.g."
          + " unix:///csi/csi.sock or unix:/csi/csi.sock");
    }
    return p;
  }
}
