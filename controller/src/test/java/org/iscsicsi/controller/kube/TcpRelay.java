package org.iscsicsi.controller.kube;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Relays TCP connections accepted on one address to another, byte for byte (TLS passes through
 * untouched): how a process in a {@link NetworkNamespace} reaches fabric8's mock API server,
 * which listens on the loopback address only.
 */
public final class TcpRelay implements AutoCloseable {

  private final ServerSocket listener;
  private final InetSocketAddress to;
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  public TcpRelay(String host, InetSocketAddress to) throws IOException {
    this.listener = new ServerSocket(0, 50, InetAddress.getByName(host));
    this.to = to;
    Thread.ofVirtual().name("relay-accept").start(this::accept);
  }

  public int port() {
    return listener.getLocalPort();
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket in = listener.accept();
        Socket out = new Socket(to.getAddress(), to.getPort());
        open.add(in);
        open.add(out);
        Thread.ofVirtual().start(() -> pump(in, out));
        Thread.ofVirtual().start(() -> pump(out, in));
      } catch (IOException e) {
        if (!listener.isClosed()) {
          System.err.println("relay: " + e);
        }
      }
    }
  }

  /** Copies one direction until either side ends, then closes both. */
  private void pump(Socket from, Socket into) {
    try (InputStream in = from.getInputStream(); OutputStream out = into.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException ended) {
      // the other direction or a close ended the connection; both sockets are closed below
    } finally {
      close(from);
      close(into);
    }
  }

  private void close(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing a socket that is already gone
    }
    open.remove(s);
  }

  @Override
  public void close() throws IOException {
    listener.close();
    open.forEach(this::close);
  }
}
