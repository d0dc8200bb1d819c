package org.iscsicsi.target.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** A command that calls a running engine's admin API. */
abstract class ClientCommand implements Callable<Integer> {

  static final String ADMIN_ENV = "TARGET_ENGINE_ADMIN";
  static final String CERT_ENV = "TARGET_ENGINE_ADMIN_TLS_CERT";
  static final String KEY_ENV = "TARGET_ENGINE_ADMIN_TLS_KEY";
  static final String CA_ENV = "TARGET_ENGINE_ADMIN_TLS_CA";
  static final String TLS_FLAGS = "--admin-tls-cert, --admin-tls-key and --admin-tls-ca";

  @Spec
  CommandSpec spec;

  @Option(names = "--admin", paramLabel = "ADDR",
      description = "Admin API address: host:port, unix:/path (default: $" + ADMIN_ENV + " or "
          + AdminAddress.DEFAULT + ").")
  String admin;

  @Option(names = "--admin-tls-cert", paramLabel = "FILE",
      description = "PEM client certificate for a TCP admin address (default: $" + CERT_ENV
          + ").")
  Path tlsCert;

  @Option(names = "--admin-tls-key", paramLabel = "FILE",
      description = "PEM (PKCS#8) private key of the client certificate (default: $" + KEY_ENV
          + ").")
  Path tlsKey;

  @Option(names = "--admin-tls-ca", paramLabel = "FILE",
      description = "PEM CA the engine's certificate must chain to (default: $" + CA_ENV + ").")
  Path tlsCa;

  @Override
  public final Integer call() {
    AdminAddress address = AdminAddress.parse(option(admin, ADMIN_ENV, AdminAddress.DEFAULT));
    AdminTls tls = AdminTls.ofOptional(path(tlsCert, CERT_ENV), path(tlsKey, KEY_ENV),
        path(tlsCa, CA_ENV), TLS_FLAGS);
    try (AdminClient client = AdminClient.connect(address, tls)) {
      run(client, spec.commandLine().getOut());
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

  /** The flag's value, else the environment variable's, else the default. */
  private static String option(String flag, String env, String fallback) {
    if (flag != null) {
      return flag;
    }
    String e = System.getenv(env);
    return e == null || e.isEmpty() ? fallback : e;
  }

  private static Path path(Path flag, String env) {
    String p = option(flag == null ? null : flag.toString(), env, null);
    return p == null ? null : Path.of(p);
  }

  abstract void run(TargetAdminBlockingStub admin, PrintWriter out);

  /** The call with the whole client; commands of the engine's other services override it. */
  void run(AdminClient client, PrintWriter out) {
    run(client.stub(), out);
  }
}
