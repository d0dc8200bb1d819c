package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.ListTargetsRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;

/** {@code ls}: every target with its LUNs, grants and CHAP users (never secrets). */
@Command(name = "ls", description = "List targets, LUNs, grants and CHAP users.")
final class ListCommand extends ClientCommand {

  @Override
  void run(TargetAdminBlockingStub admin, PrintWriter out) {
    var targets = admin.listTargets(ListTargetsRequest.getDefaultInstance()).getTargetsList();
    if (targets.isEmpty()) {
      out.println("no targets");
    }
    for (Target t : targets) {
      out.println(t.getName() + (t.getAlias().isEmpty() ? "" : " (" + t.getAlias() + ")")
          + "  tpgt " + t.getPortalGroupTag() + ", " + t.getSessionCount() + " session(s)");
      for (Lun l : t.getLunsList()) {
        out.println("  lun " + l.getLun() + ": " + Sizes.format(l.getSizeBytes()) + ", "
            + l.getBlockSize() + "-byte blocks, " + (l.getThin() ? "thin" : "thick")
            + (l.getReadOnly() ? ", read-only" : "") + ", allocated "
            + Sizes.format(l.getAllocatedBytes()) + ", serial " + l.getSerial() + ", naa "
            + l.getNaa() + LunCommands.alua(l)
            + (l.getCondition().isEmpty() ? "" : ", PROBLEM: " + l.getCondition()));
        out.println("         " + l.getPath());
      }
      StringBuilder acl = new StringBuilder();
      for (InitiatorGrant g : t.getGrantsList()) {
        acl.append(acl.isEmpty() ? "" : ", ").append(g.getInitiator())
            .append(g.getReadOnly() ? " (ro)" : " (rw)");
      }
      out.println("  acl: " + (acl.isEmpty() ? "nobody" : acl));
      String chap = t.getChap().getUser().isEmpty() ? "off"
          : "user " + t.getChap().getUser() + (t.getChap().getMutualUser().isEmpty() ? ""
              : ", mutual user " + t.getChap().getMutualUser());
      out.println("  chap: " + chap);
      if (!t.getLabelsMap().isEmpty()) {
        out.println("  labels: " + new java.util.TreeMap<>(t.getLabelsMap()));
      }
      if (!t.getParametersMap().isEmpty()) {
        out.println("  parameters: " + new java.util.TreeMap<>(t.getParametersMap()));
      }
    }
  }
}
