package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import org.iscsicsi.target.v1.Connection;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.Session;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sessions}: who is logged in where. */
@Command(name = "sessions", description = "List iSCSI sessions.")
final class SessionsCommand extends ClientCommand {

  @Option(names = "--target", paramLabel = "IQN")
  String target = "";

  @Override
  void run(TargetAdminBlockingStub admin, PrintWriter out) {
    var sessions = admin.listSessions(ListSessionsRequest.newBuilder().setTarget(target).build())
        .getSessionsList();
    if (sessions.isEmpty()) {
      out.println("no sessions");
    }
    for (Session s : sessions) {
      out.println((s.getDiscovery() ? "discovery" : s.getTarget()) + "  " + s.getInitiator()
          + "  isid " + s.getIsid() + " tsih " + s.getTsih() + (s.getReadOnly() ? " ro" : "")
          + "  rx " + s.getStatistics().getRxdataOctets() + " tx "
          + s.getStatistics().getTxdataOctets() + " cmds " + s.getStatistics().getScsicmdPdus());
      for (Connection c : s.getConnectionsList()) {
        out.println("  cid " + c.getCid() + " " + c.getRemoteAddress() + " -> "
            + c.getLocalAddress() + (c.getHeaderDigest() ? " hdigest" : "")
            + (c.getDataDigest() ? " ddigest" : ""));
      }
    }
  }
}
