package org.iscsicsi.target.session;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.login.DiscoveryScope;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;

/**
 * Answers the SendTargets text key (RFC 7143 section 13.3 and appendix C): for each target this
 * initiator may access, {@code TargetName} followed by one {@code TargetAddress=host:port,tpgt}
 * per portal. Targets whose ACL gives the initiator NONE are left out, and so are those outside
 * the session's {@link DiscoveryScope} (a CHAP discovery login sees only the targets its
 * credential opens).
 */
final class SendTargets {

  private SendTargets() {
  }

  /**
   * @param value All, a target name, or empty (the session's own target)
   * @param sessionTarget the target of a normal session, null in discovery
   * @param portals advertised "host:port" portals; when empty, {@code local} is reported
   */
  static byte[] answer(String value, String initiatorName, DiscoveryScope scope,
      TargetDirectory directory, ExportedTarget sessionTarget, List<String> portals,
      InetSocketAddress local) {
    StringBuilder sb = new StringBuilder();
    List<ExportedTarget> targets;
    if (value.equals("All")) {
      targets = directory.targets();
    } else if (value.isEmpty()) {
      targets = sessionTarget == null ? List.of() : List.of(sessionTarget);
    } else {
      targets = directory.target(value).map(List::of).orElse(List.of());
    }
    for (ExportedTarget t : targets) {
      AccessLevel access = t.access(initiatorName);
      if (access == null || access == AccessLevel.NONE || !scope.includes(t)) {
        continue;
      }
      sb.append("TargetName=").append(t.name()).append('\0');
      if (portals.isEmpty()) {
        sb.append("TargetAddress=").append(hostPort(local)).append(',')
            .append(t.portalGroupTag()).append('\0');
      } else {
        for (String p : portals) {
          sb.append("TargetAddress=").append(p).append(',').append(t.portalGroupTag())
              .append('\0');
        }
      }
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  static String hostPort(InetSocketAddress a) {
    String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    if (host.contains(":")) {
      int scope = host.indexOf('%');
      host = "[" + (scope >= 0 ? host.substring(0, scope) : host) + "]";
    }
    return host + ":" + a.getPort();
  }
}
