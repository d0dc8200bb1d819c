package org.iscsicsi.e2e.cluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the apiserver reaches the VM node's kubelet (logs, exec, port-forward): the node's
 * addresses (its name, 10.0.2.15) exist only inside the VM, behind qemu's user network. start.sh
 * {@code --kubelet} points the apiserver's egress for the cluster at an HTTP CONNECT proxy on the
 * unix socket {@code RUN/kubelet-tunnel.sock}; this is that proxy. It opens only the node's
 * kubelet port, to the host port qemu forwards into the guest's kubelet, and refuses every other
 * destination (403), so nothing the apiserver dials for the cluster leaves the host's loopback.
 */
final class KubeletTunnel implements AutoCloseable {
  /** kubelet's port in the guest (node/kubelet.yaml). */
  static final int KUBELET_PORT = 10250;
  private static final Logger log = LoggerFactory.getLogger(KubeletTunnel.class);
  private static final int MAX_REQUEST = 8192;

  private final ServerSocketChannel server;
  private final Path socket;
  private final Set<String> allowed;
  private final int forwardedPort;
  private final Thread acceptor;

  /**
   * Listens on {@code socket}; CONNECTs to {@code <name>:10250} for any of {@code nodeAddresses}
   * go to 127.0.0.1:{@code forwardedPort}.
   */
  KubeletTunnel(Path socket, Set<String> nodeAddresses, int forwardedPort) throws IOException {
    this.socket = socket;
    this.forwardedPort = forwardedPort;
    this.allowed = nodeAddresses.stream().map(a -> a + ":" + KUBELET_PORT)
        .collect(java.util.stream.Collectors.toUnmodifiableSet());
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    acceptor = Thread.ofVirtual().name("kubelet-tunnel").start(this::accept);
  }

  private void accept() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        Thread.ofVirtual().start(() -> serve(client));
      } catch (IOException e) {
        if (server.isOpen()) {
          log.warn("kubelet tunnel: accept failed", e);
        }
        return;
      }
    }
  }

  private void serve(SocketChannel client) {
    try (client) {
      InputStream in = Channels.newInputStream(client);
      OutputStream out = Channels.newOutputStream(client);
      String request = readHead(in);
      String[] line = request.lines().findFirst().orElse("").split(" ");
      if (line.length != 3 || !line[0].equals("CONNECT") || !allowed.contains(line[1])) {
        log.warn("kubelet tunnel: refused '{}'", line.length > 1 ? line[0] + " " + line[1] : "");
        out.write("HTTP/1.1 403 Forbidden\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return;
      }
      try (Socket kubelet = new Socket()) {
        kubelet.connect(new InetSocketAddress("127.0.0.1", forwardedPort), 10_000);
        out.write("HTTP/1.1 200 Connection established\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread up = Thread.ofVirtual().start(() -> pipe(in, kubelet));
        try {
          kubelet.getInputStream().transferTo(out);
        } finally {
          up.interrupt();
        }
      }
    } catch (IOException e) {
      log.debug("kubelet tunnel connection ended: {}", e.getMessage());
    }
  }

  private static void pipe(InputStream in, Socket to) {
    try {
      in.transferTo(to.getOutputStream());
      to.shutdownOutput();
    } catch (IOException e) {
      log.debug("kubelet tunnel upstream ended: {}", e.getMessage());
    }
  }

  /** The request head, up to the blank line (byte by byte: the TLS bytes follow at once). */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (head.size() < MAX_REQUEST) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        break;
      }
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() throws IOException {
    server.close();
    acceptor.interrupt();
    Files.deleteIfExists(socket);
  }
}
