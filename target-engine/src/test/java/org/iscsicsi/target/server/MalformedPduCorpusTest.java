package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.iscsicsi.target.acl.AccessLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input against a real {@link IscsiServer} over TCP: truncated headers, unknown opcodes, data
 * segments over the declared MaxRecvDataSegmentLength, bad header and data digests, CmdSN outside
 * the window, SCSI commands before login, random bytes and a login that stalls. Each gets a Reject,
 * a login error or a clean close of that connection only: a witness session logged in beforehand
 * keeps answering, and the LUN's bytes are unchanged (every malformed case carries write data).
 */
class MalformedPduCorpusTest {

  static final String TARGET = "iqn.2026-11.org.iscsicsi:corpus";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.test:fuzzer";

  @TempDir
  static Path dir;
  static TestTargets targets;
  static IscsiServer server;
  static RawInitiator witness;
  static byte[] lunHashBefore;

  @BeforeAll
  static void start() throws Exception {
    targets = new TestTargets();
    targets.add(TARGET, Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(),
        Optional.empty(), Map.of("MaxRecvDataSegmentLength", "8192"), dir, 1 << 20);
    server = new IscsiServer(IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
        .withTimeouts(Duration.ofSeconds(2), Duration.ZERO), targets);
    server.start();
    witness = new RawInitiator(server.boundPort());
    assertThat(witness.login(INITIATOR + "-witness", TARGET, Map.of()).byteAt(36)).isZero();
    lunHashBefore = lunHash();
  }

  @AfterAll
  static void stop() throws Exception {
    if (witness != null) {
      witness.close();
    }
    if (server != null) {
      server.close();
    }
    if (targets != null) {
      targets.close();
    }
  }

  @BeforeEach
  @AfterEach
  void witnessStillServedAndLunUntouched() throws Exception {
    int tag = witness.ping();
    RawInitiator.Pdu nopIn = witness.read();
    assertThat(nopIn.opcode()).isEqualTo(0x20);
    assertThat(nopIn.intAt(16)).isEqualTo(tag);
    if (lunHashBefore != null) {
      assertThat(lunHash()).isEqualTo(lunHashBefore);
    }
  }

  static byte[] lunHash() throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(dir.resolve(
        "lun1.img")));
  }

  static byte[] block(char c) {
    byte[] b = new byte[512];
    Arrays.fill(b, (byte) c);
    return b;
  }

  RawInitiator loggedIn(Map<String, String> keys) throws IOException {
    RawInitiator r = new RawInitiator(server.boundPort());
    RawInitiator.Pdu resp = r.login(INITIATOR, TARGET, keys);
    assertThat(resp.byteAt(36)).as("login status class").isZero();
    return r;
  }

  /** 20 bytes of a BHS, then the client goes quiet: the login timeout closes it. */
  @Test
  void truncatedHeaderIsClosedByTheLoginTimeout() throws Exception {
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      r.sendRaw(Arrays.copyOf(HexFormat.of().parseHex("4387000000000040"), 20));
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  /** A truncated header in the full feature phase is only buffered; the connection lives on. */
  @Test
  void truncatedHeaderAfterLoginWaitsForTheRest() throws Exception {
    try (RawInitiator r = loggedIn(Map.of())) {
      r.sendRaw(new byte[] {0x40, (byte) 0x80, 0, 0});
      assertThat(r.silentFor(300)).isTrue();
    }
  }

  @Test
  void unknownOpcodeGetsARejectAndTheSessionGoesOn() throws Exception {
    try (RawInitiator r = loggedIn(Map.of())) {
      ByteBuf b = RawInitiator.bhs(0x1e, 0x80, 4);
      b.setInt(16, 0x777);
      r.send(b, new byte[] {1, 2, 3, 4});
      RawInitiator.Pdu reject = r.read();
      assertThat(reject.opcode()).isEqualTo(0x3f);
      assertThat(reject.byteAt(2)).isEqualTo(0x05); // command not supported
      assertThat(reject.data()).hasSize(48);
      assertThat(reject.data()[0] & 0x3f).isEqualTo(0x1e);
      int tag = r.ping();
      assertThat(r.read().intAt(16)).isEqualTo(tag);
    }
  }

  @Test
  void targetOpcodeFromAnInitiatorIsRejected() throws Exception {
    try (RawInitiator r = loggedIn(Map.of())) {
      r.send(RawInitiator.bhs(0x21, 0x80, 0), new byte[0]);
      assertThat(r.read().opcode()).isEqualTo(0x3f);
    }
  }

  @Test
  void dataSegmentOverMaxRecvDataSegmentLengthIsRejectedAndClosed() throws Exception {
    try (RawInitiator r = loggedIn(Map.of())) {
      byte[] big = new byte[16384];
      Arrays.fill(big, (byte) 'X');
      ByteBuf b = RawInitiator.bhs(0x01, 0xa1, big.length);
      b.setInt(16, 5).setInt(20, big.length).setInt(24, r.cmdSn).setByte(32, 0x2a)
          .setShort(39, 32);
      r.send(b, big);
      RawInitiator.Pdu reject = r.read();
      assertThat(reject.opcode()).isEqualTo(0x3f);
      assertThat(reject.byteAt(2)).isEqualTo(0x04); // protocol error
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  @Test
  void badHeaderDigestClosesTheConnection() throws Exception {
    try (RawInitiator r = loggedIn(Map.of("HeaderDigest", "CRC32C", "DataDigest", "CRC32C"))) {
      int tag = r.ping();
      assertThat(r.read().intAt(16)).isEqualTo(tag);
      ByteBuf b = RawInitiator.bhs(0x01, 0xa1, 512);
      b.setInt(16, 9).setInt(20, 512).setInt(24, r.cmdSn).setByte(32, 0x2a).setShort(39, 1);
      byte[] frame = new byte[48 + 4 + 512 + 4];
      b.getBytes(0, frame, 0, 48);
      frame[48] = 0x12; // not the CRC32C of this header
      System.arraycopy(block('H'), 0, frame, 52, 512);
      r.sendRaw(frame);
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  @Test
  void badDataDigestGetsARejectThenClose() throws Exception {
    try (RawInitiator r = loggedIn(Map.of("HeaderDigest", "None", "DataDigest", "CRC32C"))) {
      ByteBuf b = RawInitiator.bhs(0x01, 0xa1, 512);
      b.setInt(16, 11).setInt(20, 512).setInt(24, r.cmdSn).setInt(28, r.expStatSn)
          .setByte(32, 0x2a).setShort(39, 1);
      byte[] frame = new byte[48 + 512 + 4];
      b.getBytes(0, frame, 0, 48);
      System.arraycopy(block('D'), 0, frame, 48, 512);
      r.sendRaw(frame); // digest bytes all zero: wrong
      RawInitiator.Pdu reject = r.read();
      assertThat(reject.opcode()).isEqualTo(0x3f);
      assertThat(reject.byteAt(2)).isEqualTo(0x02); // data digest error
      assertThat(r.closedByTarget()).isTrue();
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() ->
        server.sessionRegistry().sessions().stream()
            .noneMatch(s -> s.initiatorName().equals(INITIATOR)));
  }

  @Test
  void commandsOutsideTheCmdSnWindowAreIgnored() throws Exception {
    try (RawInitiator r = loggedIn(Map.of())) {
      r.write10(0, block('W'), r.cmdSn + 100_000); // beyond MaxCmdSN
      r.write10(0, block('W'), r.cmdSn - 1);        // already used
      assertThat(r.silentFor(300)).isTrue();
      int tag = r.ping();
      RawInitiator.Pdu nopIn = r.read();
      assertThat(nopIn.intAt(16)).isEqualTo(tag);
      assertThat(nopIn.intAt(28)).as("ExpCmdSN unchanged").isEqualTo(r.cmdSn);
    }
  }

  @Test
  void scsiCommandBeforeLoginIsClosed() throws Exception {
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      r.write10(0, block('B'), 1);
      assertThat(r.closedByTarget()).isTrue();
    }
  }

  @Test
  void loginThatStallsIsClosedByTheLoginTimeout() throws Exception {
    try (RawInitiator r = new RawInitiator(server.boundPort())) {
      ByteBuf b = RawInitiator.bhs(0x43, 0x00, 0); // CSG 0, T=0: expects more
      b.setLong(8, 0x23d000000009L << 16).setInt(16, 1);
      String keys = "InitiatorName=" + INITIATOR + "\0TargetName=" + TARGET
          + "\0AuthMethod=None\0";
      b.setMedium(5, keys.length());
      r.send(b, keys.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      RawInitiator.Pdu resp = r.read();
      assertThat(resp.opcode()).isEqualTo(0x23);
      long start = System.nanoTime();
      assertThat(r.closedByTarget()).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void randomBytesGetRejectsOrAClose() throws Exception {
    Random random = new Random(20261124L);
    for (int i = 0; i < 20; i++) {
      try (RawInitiator r = i % 2 == 0 ? new RawInitiator(server.boundPort())
          : loggedIn(Map.of())) {
        byte[] noise = new byte[48 + random.nextInt(2000)];
        random.nextBytes(noise);
        noise[0] &= 0x3f; // never the login opcode with the immediate bit...
        if ((noise[0] & 0x3f) == 0x03) {
          noise[0] = 0x1d;
        }
        r.timeout(300);
        r.sendRaw(noise);
        // a Reject, a close, or silence while it waits for the rest of a frame
        try {
          RawInitiator.Pdu p = r.read();
          assertThat(p.opcode()).isIn(0x3f, 0x21, 0x25, 0x20, 0x22, 0x24, 0x26, 0x31);
        } catch (IOException expected) {
          // closed or timed out: both acceptable
        }
      }
    }
  }
}
