package org.iscsicsi.controller.service;

import csi.v1.ControllerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.Lun;

/**
 * Engines e1 and e2 with replication ports (mutual TLS from a test CA) behind a {@link TestPool},
 * the CSI Controller service on them in process, and the file helpers transfer tests compare
 * LUNs with.
 */
public final class ReplicatingPool implements AutoCloseable {

  public final TestPool pool;
  public final ControllerService service;
  public final ControllerGrpc.ControllerBlockingStub csi;
  private final Server server;
  private final ManagedChannel channel;

  public ReplicatingPool(Path dir) throws Exception {
    this(dir, ClusterObjects.NONE);
  }

  /** With {@code cluster} for PVC events (and CHAP Secrets). */
  public ReplicatingPool(Path dir, ClusterObjects cluster) throws Exception {
    TestPki ca = TestPki.create(dir, "engines");
    pool = new TestPool(dir, TestPki.tls(ca.issue("engine"), ca));
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    String name = "replicating-" + UUID.randomUUID();
    service = new ControllerService(pool, ControllerConfig.defaults(), () -> true, cluster);
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  public static String iqn(String volumeId) {
    return "iqn.2026-11.org.iscsicsi:" + volumeId;
  }

  /** LUN 0 of the volume as the engine reports it now. */
  Lun lun(String engine, String volumeId) {
    return pool.get(engine).client().findTarget(iqn(volumeId)).orElseThrow().getLuns(0);
  }

  /** Writes seeded random bytes at {@code [from, from + length)} of a LUN file. */
  static void write(Path file, long from, long length) throws Exception {
    byte[] b = new byte[(int) length];
    new Random(from).nextBytes(b);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(b), from);
      ch.force(true);
    }
  }

  static String sha256(Path file) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      while (ch.read(buf.clear()) > 0) {
        d.update(buf.flip());
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    pool.close();
  }
}
