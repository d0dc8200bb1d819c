package org.iscsicsi.target.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** A command that calls a running engine's admin API. */
abstract class ClientCommand implements Callable<Integer> {

  static final String ADMIN_ENV = "TARGET_ENGINE_ADMIN";

  @Spec
  CommandSpec spec;

  @Option(names = "--admin", paramLabel = "ADDR",
      description = "Admin API address: host:port, unix:/path (default: $" + ADMIN_ENV + " or "
          + AdminAddress.DEFAULT + ").")
  String admin;

  @Override
  public final Integer call() {
    String a = admin != null ? admin
        : System.getenv(ADMIN_ENV) != null ? System.getenv(ADMIN_ENV) : AdminAddress.DEFAULT;
    AdminAddress address = AdminAddress.parse(a);
    try (AdminClient client = new AdminClient(address)) {
      run(client.stub(), spec.commandLine().getOut());
      return 0;
    } catch (StatusRuntimeException e) {
      Status s = e.getStatus();
      if (s.getCode() == Status.Code.UNAVAILABLE) {
        throw new TargetEngineCli.CliException("cannot reach the engine's admin API at "
            + address + ": " + s.getDescription());
      }
      if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
        throw new TargetEngineCli.CliException("the engine did not answer within "
            + AdminClient.DEADLINE_SECONDS + " s");
      }
      throw new TargetEngineCli.CliException(s.getDescription() + " ("
          + s.getCode().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ")");
    }
  }

  abstract void run(TargetAdminBlockingStub admin, PrintWriter out);
}
