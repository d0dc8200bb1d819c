package org.iscsicsi.controller.kube;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.iscsicsi.controller.engine.EngineChannels;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;

/**
 * The admin API of one pool engine as far as the directory's probes see it: an in-process gRPC
 * server answering {@code GetEngineInfo} with a name and incarnation (target.v1 fields 6 and 7),
 * that can be stopped (as a killed engine: calls fail UNAVAILABLE) and started again. A stand-in
 * because these tests pin the controller's state machine against the Kubernetes objects; the
 * real engines are the processes of {@code PoolDirectoryIT}. Its address {@code inproc:<id>} is
 * what the test writes into {@code status.report.adminAddress}; {@link #CHANNELS} opens it.
 */
final class StandInEngine implements AutoCloseable {

  private static final AtomicInteger NEXT = new AtomicInteger();

  /** Opens {@code inproc:<id>} addresses. */
  static final EngineChannels CHANNELS = address -> {
    if (!address.startsWith("inproc:")) {
      throw new IllegalArgumentException("not a stand-in address: " + address);
    }
    ManagedChannel ch = InProcessChannelBuilder.forName(address.substring("inproc:".length()))
        .directExecutor().build();
    return ch;
  };

  private final String id = "engine-" + NEXT.incrementAndGet();
  private volatile String name;
  private volatile String incarnation;
  private Server server;

  StandInEngine(String name, String incarnation) {
    this.name = name;
    this.incarnation = incarnation;
  }

  String address() {
    return "inproc:" + id;
  }

  /** Answers from now on as {@code name} and {@code incarnation}. */
  void answerAs(String name, String incarnation) {
    this.name = name;
    this.incarnation = incarnation;
  }

  synchronized StandInEngine start() throws IOException {
    server = InProcessServerBuilder.forName(id).directExecutor()
        .addService(new TargetAdminGrpc.TargetAdminImplBase() {
          @Override
          public void getEngineInfo(GetEngineInfoRequest request,
              StreamObserver<EngineInfo> out) {
            out.onNext(info(name, incarnation));
            out.onCompleted();
          }
        }).build().start();
    return this;
  }

  /** Stops answering, as an engine that was killed. */
  synchronized void stop() throws InterruptedException {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server = null;
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  /** An EngineInfo with fields 6 (name) and 7 (incarnation), whether or not the proto has them. */
  static EngineInfo info(String name, String incarnation) {
    return EngineInfo.newBuilder().setVersion("stand-in").setServing(true)
        .setUnknownFields(UnknownFieldSet.newBuilder()
            .addField(6, UnknownFieldSet.Field.newBuilder()
                .addLengthDelimited(ByteString.copyFromUtf8(name)).build())
            .addField(7, UnknownFieldSet.Field.newBuilder()
                .addLengthDelimited(ByteString.copyFromUtf8(incarnation)).build())
            .build())
        .build();
  }
}
