package org.iscsicsi.controller.cli.volume;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.controller.volume.ChapCredentials;

/**
 * What to run on a host to log in to a published volume, for open-iscsi and for libiscsi's
 * tools. Discovery authenticates with the volume's own credentials: the engine accepts, for
 * SendTargets, the CHAP credential of any target that grants the initiator; without CHAP there is
 * no discovery (the engine requires CHAP for it), so the node record is made directly.
 *
 * @param chap empty for a volume without CHAP
 */
record LoginInstructions(String node, String targetIqn, String portal, int lun,
    Optional<ChapCredentials> chap) {

  private static final String DISCOVERY_AUTH = "discovery.sendtargets.auth.";
  private static final String NODE_AUTH = "node.session.auth.";

  /** The open-iscsi commands, one a line, in order. */
  List<String> iscsiadm() {
    List<String> lines = new ArrayList<>();
    String discovery = "iscsiadm -m discoverydb -t sendtargets -p " + portal;
    String record = "iscsiadm -m node -T " + targetIqn + " -p " + portal;
    if (chap.isPresent()) {
      lines.add(discovery + " -o new");
      for (String[] kv : auth(chap.get())) {
        lines.add(discovery + " -o update -n " + DISCOVERY_AUTH + kv[0] + " -v " + kv[1]);
      }
      lines.add(discovery + " --discover");
      for (String[] kv : auth(chap.get())) {
        lines.add(record + " -o update -n " + NODE_AUTH + kv[0] + " -v " + kv[1]);
      }
    } else {
      lines.add(record + " -o new");
    }
    lines.add(record + " --login");
    return lines;
  }

  /** The settings open-iscsi takes for CHAP, as name and value. */
  private static List<String[]> auth(ChapCredentials c) {
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"authmethod", "CHAP"});
    kv.add(new String[] {"username", c.user()});
    kv.add(new String[] {"password", c.password()});
    if (c.mutual()) {
      kv.add(new String[] {"username_in", c.mutualUser()});
      kv.add(new String[] {"password_in", c.mutualPassword()});
    }
    return kv;
  }

  /** The disk udev makes for the LUN once the session is logged in. */
  String device() {
    return "/dev/disk/by-path/ip-" + portal + "-iscsi-" + targetIqn + "-lun-" + lun;
  }

  /** libiscsi's URL of the LUN without credentials (they come from the environment). */
  String url() {
    return "iscsi://" + portal + "/" + targetIqn + "/" + lun;
  }

  /** libiscsi's URL with the credentials in it (visible in ps: the environment is better). */
  String urlWithCredentials() {
    if (chap.isEmpty()) {
      return url();
    }
    ChapCredentials c = chap.get();
    String u = "iscsi://" + c.user() + "%" + c.password() + "@" + portal + "/" + targetIqn
        + "/" + lun;
    return c.mutual() ? u + "?target_user=" + c.mutualUser() + "&target_password="
        + c.mutualPassword() : u;
  }

  /**
   * Shell assignments libiscsi's tools read (its environment variables for CHAP) and the names
   * of the LUN, for {@code . FILE}.
   */
  List<String> environment() {
    List<String> lines = new ArrayList<>();
    chap.ifPresent(c -> {
      lines.add(export("LIBISCSI_CHAP_USERNAME", c.user()));
      lines.add(export("LIBISCSI_CHAP_PASSWORD", c.password()));
      if (c.mutual()) {
        lines.add(export("LIBISCSI_CHAP_TARGET_USERNAME", c.mutualUser()));
        lines.add(export("LIBISCSI_CHAP_TARGET_PASSWORD", c.mutualPassword()));
      }
    });
    lines.add(export("ISCSI_PORTAL", portal));
    lines.add(export("ISCSI_TARGET", targetIqn));
    lines.add(export("ISCSI_URL", url()));
    return lines;
  }

  /**
   * One shell assignment, the value in single quotes (an IPv6 portal's brackets would be a glob):
   * every value here is made of letters, digits and {@code .:-[]/}, never a quote.
   */
  private static String export(String name, String value) {
    return "export " + name + "='" + value + "'";
  }

  /** The whole printout. */
  String render(boolean readOnly) {
    StringBuilder b = new StringBuilder();
    b.append("Published to ").append(node).append(readOnly ? " (read-only)" : " (read-write)")
        .append(": target ").append(targetIqn).append(", LUN ").append(lun)
        .append(", portal ").append(portal).append('\n');
    chap.ifPresentOrElse(c -> {
      b.append("\nCHAP credentials (shown this once; a later publish makes new ones):\n")
          .append("  username    ").append(c.user()).append('\n')
          .append("  password    ").append(c.password()).append('\n');
      if (c.mutual()) {
        b.append("  username_in ").append(c.mutualUser()).append('\n')
            .append("  password_in ").append(c.mutualPassword()).append('\n');
      }
    }, () -> b.append("\nNo CHAP: the target admits ").append(node).append(" by name.\n"));
    b.append("\nOn that host with open-iscsi, as root (InitiatorName=").append(node)
        .append(" in /etc/iscsi/initiatorname.iscsi):\n");
    iscsiadm().forEach(l -> b.append("  ").append(l).append('\n'));
    b.append("The disk: ").append(device()).append('\n');
    b.append("\nWith libiscsi's tools (no kernel initiator needed):\n");
    environment().forEach(l -> b.append("  ").append(l).append('\n'));
    if (chap.isPresent()) {
      b.append("  iscsi-ls -i ").append(node).append(" -s iscsi://").append(portal).append('\n');
    }
    b.append("  iscsi-inq -i ").append(node).append(' ').append(url()).append('\n');
    b.append("The same LUN with the credentials in the URL: ").append(urlWithCredentials())
        .append('\n');
    return b.toString();
  }
}
