package org.iscsicsi.target.login;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.TargetPdu.LoginResponse;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.scsi.ScsiTargetPort;

/** Builders for login tests: targets without a SCSI layer (login never reaches it) and PDUs. */
final class LoginFixtures {

  static final long ISID = 0x23d000000001L;

  private LoginFixtures() {
  }

  record Target(String name, String alias, int portalGroupTag, Map<String, AccessLevel> acl,
      Optional<ChapSecret> incomingChap, Optional<ChapSecret> outgoingChap,
      Map<String, String> loginParameters) implements ExportedTarget {
    @Override
    public AccessLevel access(String initiatorName) {
      return acl.getOrDefault(initiatorName, acl.getOrDefault("ALL", AccessLevel.NONE));
    }

    @Override
    public ScsiTargetPort scsi() {
      throw new UnsupportedOperationException("login does not reach the SCSI layer");
    }
  }

  static TargetDirectory directory(Target... targets) {
    return new TargetDirectory() {
      @Override
      public Optional<ExportedTarget> target(String name) {
        for (Target t : targets) {
          if (t.name().equals(name)) {
            return Optional.of(t);
          }
        }
        return Optional.empty();
      }

      @Override
      public List<ExportedTarget> targets() {
        return List.of(targets);
      }
    };
  }

  static LoginRequest request(boolean transit, int csg, int nsg, String... pairs) {
    return request(transit, false, csg, nsg, 0, pairs);
  }

  static LoginRequest request(boolean transit, boolean cont, int csg, int nsg, int tsih,
      String... pairs) {
    StringBuilder sb = new StringBuilder();
    for (String p : pairs) {
      sb.append(p).append('\0');
    }
    return new LoginRequest(transit, cont, csg, nsg, 0, 0, ISID, tsih, 1, 0, 1, 0,
        Unpooled.copiedBuffer(sb.toString(), StandardCharsets.UTF_8));
  }

  static Map<String, String> keys(LoginResponse response) throws LoginException {
    byte[] b = new byte[response.data().readableBytes()];
    response.data().getBytes(response.data().readerIndex(), b);
    response.release();
    return TextKeys.parse(b);
  }

  static int status(LoginResponse r) {
    return r.statusClass() << 8 | r.statusDetail();
  }

  /** RFC 1994 response: H(identifier || secret || challenge), as hex with 0x. */
  static String chapResponse(String algorithm, int id, String secret, String challengeHex)
      throws Exception {
    MessageDigest md = MessageDigest.getInstance(algorithm);
    md.update((byte) id);
    md.update(secret.getBytes(StandardCharsets.UTF_8));
    md.update(HexFormat.of().parseHex(challengeHex.substring(2)));
    return "0x" + HexFormat.of().formatHex(md.digest());
  }
}
