package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import org.iscsicsi.target.server.RawInitiator;
import org.iscsicsi.target.v1.GrantInitiatorRequest;

/**
 * The attacker's side of an attack test: an initiator the victim target grants (read-write or
 * read-only) that knows the target's CHAP secret, so it gets through login and attacks the full
 * feature phase, and the PDUs it crafts.
 */
final class Attacker {

  static final String READ_WRITE = "iqn.2026-11.org.iscsicsi.attack:hostile-rw";
  static final String READ_ONLY = "iqn.2026-11.org.iscsicsi.attack:hostile-ro";
  static final int SCSI_RESPONSE = 0x21;
  static final int TMF_RESPONSE = 0x22;
  static final int R2T = 0x31;
  static final int REJECT = 0x3f;

  private Attacker() {
  }

  /** Grants {@code initiator} on the victim target and logs it in with the target's CHAP. */
  static RawInitiator session(AttackHarness h, String initiator, boolean readOnly)
      throws IOException {
    h.admin().grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(AttackHarness.TARGET)
        .setInitiator(initiator).setReadOnly(readOnly).build());
    RawInitiator r = new RawInitiator(h.port());
    RawInitiator.Pdu done = r.chapLogin(initiator, AttackHarness.TARGET, AttackHarness.CHAP_USER,
        AttackHarness.CHAP_SECRET, "5");
    assertThat(RawInitiator.loginStatus(done)).as("attacker login").isZero();
    // the first command of a new nexus reports POWER ON OCCURRED
    r.command(0x80, 0, new byte[16], new byte[0]);
    assertThat(r.read().opcode()).isEqualTo(SCSI_RESPONSE);
    return r;
  }

  /** WRITE(16) of {@code blocks} blocks at LBA 0. */
  static byte[] write16(long blocks) {
    byte[] cdb = new byte[16];
    cdb[0] = (byte) 0x8a;
    cdb[10] = (byte) (blocks >>> 24);
    cdb[11] = (byte) (blocks >>> 16);
    cdb[12] = (byte) (blocks >>> 8);
    cdb[13] = (byte) blocks;
    return cdb;
  }

  /** Sense "K/AA/QQ" of a SCSI Response carrying sense data, or its status in hex. */
  static String outcome(RawInitiator.Pdu response) {
    if (response.byteAt(3) != 0x02) {
      return Integer.toHexString(response.byteAt(3));
    }
    byte[] d = response.data();
    return String.format("%X/%02X/%02X", d[2 + 2] & 0x0f, d[2 + 12] & 0xff, d[2 + 13] & 0xff);
  }

  /** A Data-Out PDU header for {@code tag} and {@code ttt} at {@code offset}. */
  static ByteBuf dataOut(int tag, int ttt, int dataSn, long offset, int length) {
    ByteBuf b = RawInitiator.bhs(0x05, 0, length);
    b.setInt(16, tag).setInt(20, ttt).setInt(36, dataSn).setInt(40, (int) offset);
    return b;
  }
}
