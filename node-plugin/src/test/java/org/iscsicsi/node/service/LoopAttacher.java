package org.iscsicsi.node.service;

import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.csi.exec.ProcessCommandRunner;

/**
 * A {@link VolumeAttacher} over real loop devices: "logging in" to a target attaches its backing
 * file, "logging out" detaches it. It stands in for iSCSI only because this host's kernel has no
 * SCSI layer; everything above it (blkid, mkfs, mount, the node service) is the real thing. The
 * iSCSI attacher itself runs in the VM tier.
 */
final class LoopAttacher implements VolumeAttacher {

  private static final CommandRunner RUN = new ProcessCommandRunner();
  private static final Duration T = Duration.ofSeconds(30);

  private final Map<String, Path> images = new ConcurrentHashMap<>();
  private final Map<String, Path> attached = new ConcurrentHashMap<>();
  volatile CountDownLatch gate;
  /** Counted down by each attach that reaches the gate. */
  volatile CountDownLatch entered = new CountDownLatch(0);
  volatile int detachCalls;

  private final java.util.Set<String> writeProtected = ConcurrentHashMap.newKeySet();

  /** Makes target {@code iqn} serve {@code image} write-protected (a read-only loop device). */
  void serveWriteProtected(String iqn, Path image) {
    writeProtected.add(iqn);
    serve(iqn, image);
  }

  /** Makes target {@code iqn} serve {@code image}. */
  void serve(String iqn, Path image) {
    images.put(iqn, image);
  }

  @Override
  public Path attach(String volumeId, VolumeSource source, Map<String, String> secrets)
      throws CsiException {
    CountDownLatch g = gate;
    if (g != null) {
      entered.countDown();
      try {
        g.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    String iqn = source.target().iqn();
    Path existing = attached.get(iqn);
    if (existing != null) {
      return existing;
    }
    Path image = images.get(iqn);
    if (image == null) {
      throw new CsiException(Status.Code.NOT_FOUND, "no such target " + iqn);
    }
    try {
      Command losetup = writeProtected.contains(iqn)
          ? Command.of(T, "losetup", "-f", "--show", "-r", image.toString())
          : Command.of(T, "losetup", "-f", "--show", image.toString());
      Path dev = Path.of(RUN.check(losetup).stdout().strip());
      attached.put(iqn, dev);
      return dev;
    } catch (CommandException e) {
      throw new CsiException(Status.Code.INTERNAL, e.getMessage(), e);
    }
  }

  @Override
  public void detach(String volumeId, VolumeSource source) throws CsiException {
    detachCalls++;
    Path dev = attached.remove(source.target().iqn());
    if (dev != null) {
      try {
        RUN.check(Command.of(T, "losetup", "-d", dev.toString()));
      } catch (CommandException e) {
        throw new CsiException(Status.Code.INTERNAL, e.getMessage(), e);
      }
    }
  }

  /** Simulates a session that dropped: the disk disappears under a mounted filesystem. */
  void drop(String iqn) {
    attached.remove(iqn);
  }

  @Override
  public Optional<Path> device(VolumeSource source) {
    return Optional.ofNullable(attached.get(source.target().iqn()));
  }

  @Override
  public Optional<String> problem(VolumeSource source) {
    return attached.containsKey(source.target().iqn()) ? Optional.empty()
        : Optional.of("no session to " + source.target().iqn());
  }

  @Override
  public void rescan(VolumeSource source) throws CsiException {
    Path dev = attached.get(source.target().iqn());
    if (dev == null) {
      throw new CsiException(Status.Code.FAILED_PRECONDITION, "not attached");
    }
    try {
      RUN.check(Command.of(T, "losetup", "-c", dev.toString()));
    } catch (CommandException e) {
      throw new CsiException(Status.Code.INTERNAL, e.getMessage(), e);
    }
  }

  /** Detaches whatever is still attached (test cleanup). */
  void detachAll() {
    for (Path dev : attached.values()) {
      try {
        RUN.run(Command.of(T, "losetup", "-d", dev.toString()));
      } catch (CommandException e) {
        // best effort in cleanup
      }
    }
    attached.clear();
  }
}
