package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.Endpoint;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A {@code controller volume} subcommand: one or a few CSI Controller calls to a running
 * {@code controller serve}. A gRPC error becomes one line on stderr (status code and description)
 * and exit code 1; bad arguments exit 2 ({@code ControllerCli.run} prints them).
 */
abstract class CsiClientCommand implements Callable<Integer> {

  /** Environment variable CSI deployments name the endpoint in (CSI spec, plugin discovery). */
  static final String ENDPOINT_ENV = "CSI_ENDPOINT";
  /** Where README's quick start serves the controller. */
  static final String DEFAULT_ENDPOINT = "unix:///tmp/iscsi-csi/csi.sock";
  /** Deadline of each call; CreateVolume of a thick volume writes the whole file. */
  private static final long DEADLINE_SECONDS = 120;

  @Spec
  CommandSpec spec;

  @Option(names = "--endpoint", paramLabel = "ENDPOINT",
      description = "The controller's CSI endpoint, unix:///path or tcp://HOST:PORT (default: $"
          + ENDPOINT_ENV + ", else " + DEFAULT_ENDPOINT + ")")
  String endpoint;

  @Override
  public final Integer call() {
    Endpoint ep = Endpoint.parse(endpoint());
    ManagedChannel channel = channel(ep);
    try {
      run(ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS,
          TimeUnit.SECONDS), spec.commandLine().getOut());
      return 0;
    } catch (StatusRuntimeException e) {
      throw new VolumeCommand.Failure(message(ep, e));
    } finally {
      channel.shutdownNow();
    }
  }

  private String endpoint() {
    if (endpoint != null) {
      return endpoint;
    }
    String env = System.getenv(ENDPOINT_ENV);
    return env == null || env.isEmpty() ? DEFAULT_ENDPOINT : env;
  }

  private static ManagedChannel channel(Endpoint ep) {
    return switch (ep) {
      case Endpoint.Unix u -> Grpc.newChannelBuilder("unix://" + u.path(),
          InsecureChannelCredentials.create()).build();
      case Endpoint.Tcp t -> Grpc.newChannelBuilderForAddress(t.host(), t.port(),
          InsecureChannelCredentials.create()).build();
    };
  }

  abstract void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out);

  private static String message(Endpoint ep, StatusRuntimeException e) {
    String description = e.getStatus().getDescription();
    String line = e.getStatus().getCode() + ": " + (description == null ? "(no description)"
        : description.strip());
    return e.getStatus().getCode() == Status.Code.UNAVAILABLE
        ? line + " (is controller serve running on " + ep + "?)" : line;
  }
}
