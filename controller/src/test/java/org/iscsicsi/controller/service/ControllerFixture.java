package org.iscsicsi.controller.service;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.GroupControllerGrpc;
import csi.v1.IdentityGrpc;
import csi.v1.SnapshotMetadataGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.csi.CallLogger;
import org.iscsicsi.csi.HostPort;

/**
 * The controller's CSI services over an in-process gRPC channel, backed by a real embedded
 * {@code TargetEngine} on a temporary state directory (iSCSI on 127.0.0.1, port 0, advertised as
 * bound).
 */
public final class ControllerFixture implements AutoCloseable {

  public static final String NODE_A = "iqn.2026-11.org.example:node-a";
  static final String NODE_B = "iqn.2026-11.org.example:node-b";

  final Path stateDir;
  final EngineSet engines = new EngineSet();
  final Engine engine;
  final ControllerConfig config;
  private final Server server;
  private final ManagedChannel channel;
  final ControllerGrpc.ControllerBlockingStub controller;
  final IdentityGrpc.IdentityBlockingStub identity;
  final GroupControllerGrpc.GroupControllerBlockingStub groups;
  final SnapshotMetadataGrpc.SnapshotMetadataBlockingStub snapshotMetadata;

  ControllerFixture(Path stateDir) throws IOException {
    this(stateDir, Map.of());
  }

  ControllerFixture(Path stateDir, Map<String, String> topology) throws IOException {
    this(stateDir, topology, ControllerConfig.defaults(), ClusterObjects.NONE);
  }

  /** A controller with {@code config}'s limits and {@code cluster}'s Secrets and events. */
  ControllerFixture(Path stateDir, Map<String, String> topology, ControllerConfig config,
      ClusterObjects cluster) throws IOException {
    this.stateDir = stateDir;
    this.config = config;
    this.engine = EmbeddedEngine.start(engines, "local", stateDir, new HostPort("127.0.0.1", 0),
        List.of(), topology, Duration.ofSeconds(30));
    String name = "controller-" + UUID.randomUUID();
    CallLogger logger = new CallLogger();
    ControllerService service = new ControllerService(engines, config, () -> true, cluster);
    this.server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ServerInterceptors.intercept(service, logger))
        .addService(ServerInterceptors.intercept(service.groupController(), logger))
        .addService(ServerInterceptors.intercept(service.snapshotMetadata(), logger))
        .addService(ServerInterceptors.intercept(
            new IdentityService(new DriverInfo(config.driverName(), DriverInfo.buildVersion()),
                engines), logger))
        .build().start();
    this.channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    this.controller = ControllerGrpc.newBlockingStub(channel);
    this.identity = IdentityGrpc.newBlockingStub(channel);
    this.groups = GroupControllerGrpc.newBlockingStub(channel);
    this.snapshotMetadata = SnapshotMetadataGrpc.newBlockingStub(channel);
  }

  public static Csi.VolumeCapability mount(Csi.VolumeCapability.AccessMode.Mode mode) {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
  }

  static Csi.VolumeCapability block(Csi.VolumeCapability.AccessMode.Mode mode) {
    return Csi.VolumeCapability.newBuilder()
        .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
  }

  public static Csi.CreateVolumeRequest.Builder createRequest(String name, long bytes) {
    return Csi.CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(bytes))
        .addVolumeCapabilities(mount(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER));
  }

  /** The portal the engine listens on, "127.0.0.1:port". */
  String portal() {
    return engine.client().info().getPortals(0);
  }

  Csi.Volume create(String name, long bytes) {
    return controller.createVolume(createRequest(name, bytes).build()).getVolume();
  }

  Csi.ControllerPublishVolumeResponse publish(String volumeId, String node,
      Csi.VolumeCapability cap, boolean readOnly) {
    return controller.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(node).setVolumeCapability(cap).setReadonly(readOnly)
        .build());
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    engines.close();
  }
}
