package org.iscsicsi.controller.kube;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.Exec;

/**
 * A network namespace linked to the test's own by a veth pair on a /30 of 10.231.0.0/16, for a
 * process that a test cuts off the network: {@link #cut} sets the test's end of the link down
 * (the namespace's route goes with it, so packets either way are refused or lost, as with a
 * pulled cable), {@link #restore} sets it up again. Needs root (CAP_NET_ADMIN) and iproute2;
 * every name is generated and checked, and {@code ip} is run without a shell.
 */
public final class NetworkNamespace implements AutoCloseable {

  static final String IP = "/usr/sbin/ip";
  private static final Pattern NAME = Pattern.compile("[a-z0-9-]{1,15}");
  private static final Duration COMMAND = Duration.ofSeconds(10);

  public final String name;
  /** The address of the test's end of the link (where the namespace reaches the test). */
  public final String hostAddress;
  /** The namespace's own address. */
  public final String address;
  private final String hostLink;
  private final String innerLink;

  private NetworkNamespace(String id, int subnet) {
    this.name = "ipt-" + id;
    this.hostLink = "ipt" + id + "h";
    this.innerLink = "ipt" + id + "e";
    int third = subnet / 64;
    int fourth = (subnet % 64) * 4;
    this.hostAddress = "10.231." + third + "." + (fourth + 1);
    this.address = "10.231." + third + "." + (fourth + 2);
    for (String n : List.of(name, hostLink, innerLink)) {
      if (!NAME.matcher(n).matches()) {
        throw new IllegalArgumentException("bad link or namespace name " + n);
      }
    }
  }

  /** Why namespaces cannot be made here, or null when they can. */
  public static String unavailable() {
    if (!java.nio.file.Files.isExecutable(java.nio.file.Path.of(IP))) {
      return IP + " (iproute2) missing";
    }
    try {
      Exec.Result r = Exec.run(COMMAND, List.of(IP, "netns", "list"));
      if (r.exit() != 0) {
        return "ip netns list failed: " + r.output();
      }
    } catch (IOException e) {
      return "ip netns list failed: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
    return "root".equals(System.getProperty("user.name")) ? null
        : "network namespaces and veth links need root";
  }

  /** Makes the namespace, its loopback and the link, both ends up. */
  public static NetworkNamespace create() throws IOException, InterruptedException {
    String id = HexFormat.of().toHexDigits((byte) ThreadLocalRandom.current().nextInt(256))
        + HexFormat.of().toHexDigits((byte) ThreadLocalRandom.current().nextInt(256));
    NetworkNamespace ns = new NetworkNamespace(id,
        ThreadLocalRandom.current().nextInt(64 * 256));
    try {
      ns.ip("netns", "add", ns.name);
      ns.ip("link", "add", ns.hostLink, "type", "veth", "peer", "name", ns.innerLink);
      ns.ip("link", "set", ns.innerLink, "netns", ns.name);
      ns.ip("addr", "add", ns.hostAddress + "/30", "dev", ns.hostLink);
      ns.ip("link", "set", ns.hostLink, "up");
      ns.inside("addr", "add", ns.address + "/30", "dev", ns.innerLink);
      ns.inside("link", "set", ns.innerLink, "up");
      ns.inside("link", "set", "lo", "up");
    } catch (IOException | RuntimeException e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  /** Sets the test's end of the link down: the namespace is cut off. */
  public void cut() throws IOException, InterruptedException {
    ip("link", "set", hostLink, "down");
  }

  /** Sets it up again. */
  public void restore() throws IOException, InterruptedException {
    ip("link", "set", hostLink, "up");
  }

  private void inside(String... args) throws IOException, InterruptedException {
    List<String> all = new ArrayList<>(List.of("-n", name));
    all.addAll(List.of(args));
    ip(all.toArray(String[]::new));
  }

  private void ip(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of(IP));
    argv.addAll(List.of(args));
    Exec.Result r = Exec.run(COMMAND, argv);
    if (r.exit() != 0) {
      throw new IOException(String.join(" ", argv) + " failed (" + r.exit() + "): "
          + r.output());
    }
  }

  /** Deletes the namespace (its end of the link goes with it) and the test's end. */
  @Override
  public void close() throws IOException, InterruptedException {
    Exec.run(COMMAND, List.of(IP, "netns", "del", name));
    Exec.run(COMMAND, List.of(IP, "link", "del", hostLink));
  }
}
