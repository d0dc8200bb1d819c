package org.iscsicsi.controller.bench;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;

/**
 * The controller's volume benchmark (controller/bench/run-volumes.sh): CreateVolume and
 * DeleteVolume latency (p50, p99), volumes per second and the heap, for N thin volumes, through
 * the real CSI server on a unix socket and the embedded engine, one call at a time as the
 * external-provisioner issues them per PVC. Test code, so it stays out of the controller's jar.
 *
 * <p>Arguments: STATE_DIR (empty or absent) [VOLUMES (1000)] [SIZE_BYTES (1 GiB, thin)].
 */
public final class VolumeBench {
  private static final int DEFAULT_VOLUMES = 1000;
  private static final long DEFAULT_SIZE_BYTES = 1L << 30;
  private static final int WARM_UP_VOLUMES = 50;

  private final Path stateDir;
  private final int volumes;
  private final long sizeBytes;

  private VolumeBench(Path stateDir, int volumes, long sizeBytes) {
    this.stateDir = stateDir;
    this.volumes = volumes;
    this.sizeBytes = sizeBytes;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: VolumeBench STATE_DIR [VOLUMES] [SIZE_BYTES]");
      System.exit(2);
    }
    int volumes = args.length > 1 ? Integer.parseInt(args[1]) : DEFAULT_VOLUMES;
    long size = args.length > 2 ? Long.parseLong(args[2]) : DEFAULT_SIZE_BYTES;
    System.exit(new VolumeBench(Path.of(args[0]), volumes, size).call());
  }

  private int call() throws Exception {
    if (Files.isDirectory(stateDir)) {
      try (var s = Files.list(stateDir)) {
        if (s.findAny().isPresent()) {
          System.err.println("bench: " + stateDir + " is not empty");
          return 2;
        }
      }
    }
    Path socket = stateDir.resolve("bench.sock");
    ControllerConfig config = ControllerConfig.defaults();
    try (EngineSet engines = new EngineSet()) {
      EmbeddedEngine.start(engines, "local", stateDir.resolve("engine"),
          new HostPort("127.0.0.1", 0), List.of(new HostPort("127.0.0.1", 3260)), Map.of(),
          Duration.ofSeconds(60));
      try (CsiServer server = CsiServer.start(new Endpoint.Unix(socket), List.of(
          new IdentityService(new DriverInfo(config.driverName(), "bench"), engines),
          new ControllerService(engines, config)))) {
        ManagedChannel ch = Grpc.newChannelBuilder("unix://" + socket,
            InsecureChannelCredentials.create()).build();
        try {
          run(ControllerGrpc.newBlockingStub(ch));
        } finally {
          ch.shutdownNow();
        }
      }
    }
    return 0;
  }

  private void run(ControllerGrpc.ControllerBlockingStub stub) {
    Csi.VolumeCapability cap = Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
    // Warm-up: class loading and JIT, not measured.
    for (int i = 0; i < Math.min(WARM_UP_VOLUMES, volumes); i++) {
      String id = stub.createVolume(request("warm-" + i, cap)).getVolume().getVolumeId();
      stub.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
    }
    long[] create = new long[volumes];
    String[] ids = new String[volumes];
    long t0 = System.nanoTime();
    for (int i = 0; i < volumes; i++) {
      long s = System.nanoTime();
      ids[i] = stub.createVolume(request("pvc-bench-" + i, cap)).getVolume().getVolumeId();
      create[i] = System.nanoTime() - s;
    }
    long createTotal = System.nanoTime() - t0;
    long heapFull = heapAfterGc();
    long[] delete = new long[volumes];
    t0 = System.nanoTime();
    for (int i = 0; i < volumes; i++) {
      long s = System.nanoTime();
      stub.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(ids[i]).build());
      delete[i] = System.nanoTime() - s;
    }
    long deleteTotal = System.nanoTime() - t0;
    long heapEmpty = heapAfterGc();
    System.out.printf("volumes: %d thin, %d bytes each, one call at a time over a unix socket%n",
        volumes, sizeBytes);
    print("CreateVolume", create, createTotal);
    print("DeleteVolume", delete, deleteTotal);
    System.out.printf("heap used after GC: %.1f MiB with %d volumes, %.1f MiB after deleting "
        + "them (max %.0f MiB)%n", heapFull / 1048576.0, volumes, heapEmpty / 1048576.0,
        Runtime.getRuntime().maxMemory() / 1048576.0);
  }

  private Csi.CreateVolumeRequest request(String name, Csi.VolumeCapability cap) {
    return Csi.CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(sizeBytes))
        .addVolumeCapabilities(cap).build();
  }

  private static void print(String what, long[] nanos, long totalNanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    System.out.printf("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms, %.1f volumes/s%n", what,
        pct(sorted, 0.50) / 1e6, pct(sorted, 0.99) / 1e6, sorted[sorted.length - 1] / 1e6,
        nanos.length / (totalNanos / 1e9));
  }

  private static long pct(long[] sorted, double p) {
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static long heapAfterGc() {
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    System.gc();
    System.gc();
    return mem.getHeapMemoryUsage().getUsed();
  }
}
