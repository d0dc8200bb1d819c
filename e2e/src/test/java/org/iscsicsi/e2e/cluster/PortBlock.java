package org.iscsicsi.e2e.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The block of host ports this JVM's clusters use: start.sh derives every port from one base
 * ({@code ISCSI_CSI_PORT_BASE}: etcd at the base, the apiserver at +2, the controller's portal at
 * +10, engine i's portal, admin and replication ports at +20+i, +30+i, +40+i), and the tests put
 * their own host ports (the VM node's forwarded CSI port, the external SAN's tgtd) in the same
 * block. Two runs on one machine take different blocks: a block is claimed by an exclusive lock
 * on a file in the temp directory, held until this JVM exits, and only when its ports are free.
 * {@code ISCSI_CSI_PORT_BASE} in the environment names the base instead (its owner vouches for
 * it: no lock is taken).
 */
final class PortBlock {
  /** The first block tried, and the playground's ports when it is free (13500-13510). */
  static final int DEFAULT_BASE = 13500;
  /** Distance between candidate blocks, and how many are tried. */
  static final int STRIDE = 1000;
  static final int CANDIDATES = 8;
  static final String ENV = "ISCSI_CSI_PORT_BASE";

  static final int BASE = claim();
  static final int API = BASE + 2;
  static final int PORTAL = BASE + 10;
  static final int ENGINE_PORTALS = BASE + 20;
  /** The VM node's CSI port, forwarded to the host (VmKubelet). */
  static final int VM_CSI = BASE + 202;
  /** The external SAN's tgtd portal and control port (VolumeLifecycleTest's static PV). */
  static final int SAN = BASE + 220;
  static final int SAN_CONTROL = BASE + 221;

  /** The ports that must be free for a block to be taken. */
  private static List<Integer> used(int base) {
    return IntStream.concat(IntStream.of(0, 1, 2, 3, 4, 10, 202, 220, 221),
        IntStream.range(0, 3).flatMap(i -> IntStream.of(20 + i, 30 + i, 40 + i)))
        .map(o -> base + o).boxed().toList();
  }

  /** Held for the JVM's life: closing it would release the block. */
  @SuppressWarnings("unused")
  private static FileChannel held;

  private PortBlock() {}

  /** Prints the base this JVM claimed (PortBlockTest runs it as a second run). */
  public static void main(String[] args) {
    System.out.println(BASE);
  }

  /** The ports a cluster of this block listens on (for checks that they are closed). */
  static List<Integer> clusterPorts() {
    return List.of(BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4, PORTAL);
  }

  private static int claim() {
    String given = System.getenv(ENV);
    if (given != null && !given.isBlank()) {
      return Integer.parseInt(given.strip());
    }
    for (int n = 0; n < CANDIDATES; n++) {
      int base = DEFAULT_BASE + n * STRIDE;
      Path lock = Path.of(System.getProperty("java.io.tmpdir"),
          "iscsi-csi-e2e-ports-" + base + ".lock");
      try {
        FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE,
            StandardOpenOption.WRITE);
        FileLock l = ch.tryLock();
        if (l != null && used(base).stream().allMatch(PortBlock::free)) {
          held = ch;
          return base;
        }
        ch.close(); // held by another run, or its ports are taken by something else
      } catch (IOException e) {
        throw new IllegalStateException("cannot lock " + lock + ": " + e.getMessage(), e);
      }
    }
    throw new IllegalStateException("no free block of ports for the test cluster: tried "
        + CANDIDATES + " blocks from " + DEFAULT_BASE + " every " + STRIDE
        + " (other runs hold them, or set " + ENV + ")");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException busy) {
      return false;
    }
  }
}
