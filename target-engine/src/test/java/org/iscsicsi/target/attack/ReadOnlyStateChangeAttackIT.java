package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.target.server.RawInitiator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A logged-in initiator with a read-only grant tries, again and again, everything that would
 * change what the legitimate initiator sees: PERSISTENT RESERVE OUT (REGISTER, RESERVE, PREEMPT
 * AND ABORT), RESERVE(6)/(10), MODE SELECT(10) turning the write cache off, LOGICAL UNIT RESET and
 * TARGET WARM/COLD RESET. Every command gets DATA PROTECT, WRITE PROTECTED, every reset "Function
 * authorization failed"; the legitimate session started meanwhile logs in and writes within 2 s
 * (no reservation conflict, no reset unit attention beyond its own POWER ON), and the engine's
 * heap and RSS stay bounded.
 */
class ReadOnlyStateChangeAttackIT {

  private static final int ROUNDS = 200;
  private static final String WRITE_PROTECTED = "7/27/00";

  @TempDir
  Path dir;

  @Test
  void readOnlySessionChangesNothing() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir);
        RawInitiator attacker = Attacker.session(h, Attacker.READ_ONLY, true)) {
      long refused = 0;
      Duration legitimate = Duration.ZERO;
      for (int round = 0; round < ROUNDS; round++) {
        for (byte[][] command : commands()) {
          attacker.command(0xa0, command[1].length, command[0], command[1]);
          RawInitiator.Pdu answer = attacker.read();
          assertThat(answer.opcode()).isEqualTo(Attacker.SCSI_RESPONSE);
          assertThat(Attacker.outcome(answer)).as("opcode %02x", command[0][0] & 0xff)
              .isEqualTo(WRITE_PROTECTED);
          refused++;
        }
        for (int function : new int[] {5, 6, 7}) {
          attacker.taskManagement(function, 0, 0, 0);
          RawInitiator.Pdu answer = attacker.read();
          assertThat(answer.opcode()).isEqualTo(Attacker.TMF_RESPONSE);
          assertThat(answer.byteAt(2)).as("TMF %d: function authorization failed", function)
              .isEqualTo(6);
          refused++;
        }
        if (round == ROUNDS / 2) {
          legitimate = h.legitimateLoginAndIo();
        }
      }
      h.assertBoundedAndReport("read-only PR OUT, RESERVE, MODE SELECT, resets",
          refused, legitimate);
    }
  }

  /** CDB and Data-Out of each state-changing command the read-only attacker sends. */
  private static byte[][][] commands() {
    return new byte[][][] {
        {prOut(0x00, 0), prOutParameters(0, 0xbad)},      // REGISTER
        {prOut(0x01, 1), prOutParameters(0xbad, 0)},      // RESERVE, Write Exclusive
        {prOut(0x05, 1), prOutParameters(0xbad, 0x1)},    // PREEMPT AND ABORT
        {cdb(0x16), new byte[0]},                         // RESERVE(6)
        {cdb(0x56), new byte[0]},                         // RESERVE(10)
        {modeSelect10(), cachingPageWithoutWriteCache()}, // MODE SELECT(10), WCE 0
    };
  }

  private static byte[] cdb(int opcode) {
    byte[] c = new byte[16];
    c[0] = (byte) opcode;
    return c;
  }

  private static byte[] prOut(int action, int type) {
    byte[] c = cdb(0x5f);
    c[1] = (byte) action;
    c[2] = (byte) type;
    c[8] = 24; // PARAMETER LIST LENGTH
    return c;
  }

  private static byte[] prOutParameters(long key, long serviceActionKey) {
    byte[] p = new byte[24];
    for (int i = 0; i < 8; i++) {
      p[7 - i] = (byte) (key >>> (8 * i));
      p[15 - i] = (byte) (serviceActionKey >>> (8 * i));
    }
    return p;
  }

  private static byte[] modeSelect10() {
    byte[] c = cdb(0x55);
    c[1] = 0x10; // PF
    c[8] = (byte) cachingPageWithoutWriteCache().length;
    return c;
  }

  /** Mode parameter header (10) and the caching page (08h) with WCE 0. */
  private static byte[] cachingPageWithoutWriteCache() {
    byte[] p = new byte[8 + 20];
    p[8] = 0x08;
    p[9] = 18;
    return p;
  }
}
