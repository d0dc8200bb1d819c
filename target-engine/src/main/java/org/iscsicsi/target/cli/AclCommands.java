package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.RevokeInitiatorRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code acl add|remove}. */
@Command(name = "acl", description = "Allow or forbid initiators.",
    subcommands = {AclCommands.Add.class, AclCommands.Remove.class})
final class AclCommands {

  @Command(name = "add", description = "Let an initiator (or ALL) log in and discover the target.")
  static final class Add extends ClientCommand {
    @Parameters(index = "0", paramLabel = "IQN")
    String target;

    @Parameters(index = "1", paramLabel = "INITIATOR", description = "Initiator name or ALL.")
    String initiator;

    @Option(names = "--read-only")
    boolean readOnly;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(target)
          .setInitiator(initiator).setReadOnly(readOnly).build());
      out.println("granted " + initiator + (readOnly ? " read-only" : " read-write")
          + " access to " + target);
    }
  }

  @Command(name = "remove", description = "Withdraw a grant and close that initiator's sessions.")
  static final class Remove extends ClientCommand {
    @Parameters(index = "0", paramLabel = "IQN")
    String target;

    @Parameters(index = "1", paramLabel = "INITIATOR")
    String initiator;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.revokeInitiator(RevokeInitiatorRequest.newBuilder().setTarget(target)
          .setInitiator(initiator).build());
      out.println("revoked " + initiator + " from " + target);
    }
  }

  private AclCommands() {
  }
}
