package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.epoll.Epoll;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Large READs over TCP against a real {@link IscsiServer}, on the epoll transport and on NIO: with
 * DataDigest=None the Data-In goes out from the LUN's file with sendfile (and a header digest
 * before each range when negotiated) once the page cache holds it (the first read of the
 * never-read holes takes the buffer path and brings them in), with DataDigest=CRC32C from a
 * buffer; either way the initiator gets the written bytes and zeros for the holes of the sparse
 * file, split by its MaxRecvDataSegmentLength with the status on the last Data-In, and the
 * connection stays usable.
 */
class SendfileDataInTest {

  static final String TARGET = "iqn.2026-11.org.iscsicsi:sendfile";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.test:sendfile";

  @TempDir
  Path dir;

  @ParameterizedTest(name = "epoll {0}, header digest {1}, data digest {2}")
  @CsvSource({
      "true, None, None",
      "true, CRC32C, None",
      "true, None, CRC32C",
      "false, None, None",
      "false, CRC32C, None",
  })
  void largeReadsReturnTheWrittenBytesAndZerosForHoles(boolean epoll, String headerDigest,
      String dataDigest) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(!epoll || Epoll.isAvailable(),
        "the native epoll transport is not available here");
    try (TestTargets targets = new TestTargets()) {
      targets.add(TARGET, Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(),
          Optional.empty(), Map.of(), dir, 4 << 20);
      IscsiServerConfig config = IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
          .withAdvertisedPortals(List.of()).withTimeouts(Duration.ofSeconds(5), Duration.ZERO)
          .withNativeTransport(epoll);
      IscsiServer server = new IscsiServer(config, targets);
      server.start();
      try (RawInitiator r = new RawInitiator(server.boundPort())) {
        assertThat(r.login(INITIATOR, TARGET, Map.of("HeaderDigest", headerDigest,
            "DataDigest", dataDigest, "MaxRecvDataSegmentLength", "65536",
            "ImmediateData", "Yes", "InitialR2T", "No")).byteAt(36)).isZero();
        r.headerDigest = headerDigest.equals("CRC32C");
        r.dataDigest = dataDigest.equals("CRC32C");
        r.command(0x80, 0, new byte[16], new byte[0]); // TEST UNIT READY: POWER ON OCCURRED
        assertThat(r.read().opcode()).isEqualTo(0x21);

        // 64 KiB of data at LBA 256 (128 KiB into the LUN), all immediate
        byte[] written = FullFeaturePhaseTest.pattern(65536, 7);
        r.command(0xa0, 65536, FullFeaturePhaseTest.rw10(0x2a, 256, 128), written);
        RawInitiator.Pdu status = r.read();
        assertThat(status.opcode()).isEqualTo(0x21);
        assertThat(status.byteAt(3)).isZero();

        for (int round = 0; round < 2; round++) {
          // 320 KiB from LBA 0: 128 KiB of hole, the data, 128 KiB of hole
          int length = 327680;
          int tag = r.command(0xc0, length, FullFeaturePhaseTest.rw10(0x28, 0, length / 512),
              new byte[0]);
          byte[] got = new byte[length];
          int pdus = length / 65536;
          for (int i = 0; i < pdus; i++) {
            RawInitiator.Pdu in = r.read();
            assertThat(in.opcode()).isEqualTo(0x25);
            assertThat(in.intAt(16)).isEqualTo(tag);
            assertThat(in.intAt(40)).as("offset").isEqualTo(i * 65536);
            assertThat(in.data()).hasSize(65536);
            assertThat((in.byteAt(1) & 0x01) != 0).as("status on the last").isEqualTo(
                i == pdus - 1);
            System.arraycopy(in.data(), 0, got, i * 65536, 65536);
          }
          byte[] expected = new byte[length];
          System.arraycopy(written, 0, expected, 131072, 65536);
          assertThat(got).isEqualTo(expected);
        }
        int ping = r.ping();
        RawInitiator.Pdu nopIn = r.read();
        assertThat(nopIn.opcode()).isEqualTo(0x20);
        assertThat(nopIn.intAt(16)).isEqualTo(ping);
      } finally {
        server.close();
      }
    }
  }
}
