package org.iscsicsi.controller.cli;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import csi.v1.NodeGrpc;
import io.grpc.Channel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the node plugin, for csi-sanity's Controller specs only. Those specs ask the
 * node endpoint for NodeGetInfo (a node id to publish to) and NodeGetCapabilities (to decide on
 * cleanup); the real node plugin is another module with its own issue and cannot run here as a
 * dependency of the controller. This is the one mock in the controller's tests: it answers those
 * two Node RPCs with a fixed initiator IQN and no capabilities, NodeUnpublishVolume (which
 * csi-sanity's cleanup calls for every volume) as the no-op it is for a volume never
 * node-published, and forwards the Identity RPCs to
 * the real controller, so csi-sanity's Identity specs on the "node" endpoint test the controller.
 * Every Node spec is skipped in the sanity run.
 */
final class NodeStandIn implements AutoCloseable {

  static final String NODE_ID = "iqn.2026-11.org.iscsicsi.test:sanity-node";

  private final Server server;
  private final EventLoopGroup group;

  private NodeStandIn(Server server, EventLoopGroup group) {
    this.server = server;
    this.group = group;
  }

  static NodeStandIn start(Path socket, Channel controller) throws IOException {
    EventLoopGroup group = new EpollEventLoopGroup(1);
    IdentityGrpc.IdentityBlockingStub identity = IdentityGrpc.newBlockingStub(controller);
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .addService(new IdentityGrpc.IdentityImplBase() {
          @Override
          public void getPluginInfo(Csi.GetPluginInfoRequest req,
              StreamObserver<Csi.GetPluginInfoResponse> out) {
            forward(out, () -> identity.getPluginInfo(req));
          }

          @Override
          public void getPluginCapabilities(Csi.GetPluginCapabilitiesRequest req,
              StreamObserver<Csi.GetPluginCapabilitiesResponse> out) {
            forward(out, () -> identity.getPluginCapabilities(req));
          }

          @Override
          public void probe(Csi.ProbeRequest req, StreamObserver<Csi.ProbeResponse> out) {
            forward(out, () -> identity.probe(req));
          }
        })
        .addService(new NodeGrpc.NodeImplBase() {
          @Override
          public void nodeGetInfo(Csi.NodeGetInfoRequest req,
              StreamObserver<Csi.NodeGetInfoResponse> out) {
            out.onNext(Csi.NodeGetInfoResponse.newBuilder().setNodeId(NODE_ID).build());
            out.onCompleted();
          }

          @Override
          public void nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest req,
              StreamObserver<Csi.NodeUnpublishVolumeResponse> out) {
            // Nothing is ever node-published here: unpublishing is a no-op, as the spec has it
            // for a target path that holds nothing.
            out.onNext(Csi.NodeUnpublishVolumeResponse.getDefaultInstance());
            out.onCompleted();
          }

          @Override
          public void nodeGetCapabilities(Csi.NodeGetCapabilitiesRequest req,
              StreamObserver<Csi.NodeGetCapabilitiesResponse> out) {
            out.onNext(Csi.NodeGetCapabilitiesResponse.getDefaultInstance());
            out.onCompleted();
          }
        })
        .build().start();
    return new NodeStandIn(server, group);
  }

  private static <T> void forward(StreamObserver<T> out, java.util.function.Supplier<T> call) {
    try {
      out.onNext(call.get());
      out.onCompleted();
    } catch (io.grpc.StatusRuntimeException e) {
      out.onError(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }
}
