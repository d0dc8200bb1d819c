package org.iscsicsi.target.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the journal's framing byte by byte: records come back as appended; a record cut anywhere,
 * a last record with a bad checksum, a zero tail and a header torn during creation are each read
 * as a torn tail (never an error, never a record); a bad checksum or an impossible length with
 * data after it is damage and fails with the offset; reopening cuts a torn tail before appending.
 */
class JournalTest {

  @TempDir
  Path dir;

  Path file() {
    return dir.resolve("journal");
  }

  byte[] threeRecords() throws IOException {
    try (Journal j = Journal.create(file(), 7)) {
      j.append("one".getBytes(StandardCharsets.UTF_8));
      j.append("two-two".getBytes(StandardCharsets.UTF_8));
      j.append("three".getBytes(StandardCharsets.UTF_8));
    }
    return Files.readAllBytes(file());
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void recordsComeBackInOrder() throws IOException {
    byte[] bytes = threeRecords();
    Journal.Contents c = Journal.parse(file(), bytes);
    assertThat(c.generation()).isEqualTo(7);
    assertThat(c.records()).extracting(JournalTest::text).containsExactly("one", "two-two",
        "three");
    assertThat(c.validEnd()).isEqualTo(bytes.length);
    assertThat(c.tornBytes()).isZero();
  }

  @Test
  void everyCutOfTheLastRecordIsATornTail() throws IOException {
    byte[] bytes = threeRecords();
    int lastStart = bytes.length - Journal.RECORD_HEADER_BYTES - "three".length();
    for (int cut = lastStart + 1; cut < bytes.length; cut++) {
      Journal.Contents c = Journal.parse(file(), Arrays.copyOf(bytes, cut));
      assertThat(c.records()).as("cut at %d", cut).hasSize(2);
      assertThat(c.validEnd()).isEqualTo(lastStart);
      assertThat(c.tornBytes()).isEqualTo(cut - lastStart);
    }
  }

  @Test
  void badChecksumOfTheLastRecordIsTornButBeforeOthersIsDamage() throws IOException {
    byte[] bytes = threeRecords();
    byte[] lastBad = bytes.clone();
    lastBad[bytes.length - 1] ^= 1;
    assertThat(Journal.parse(file(), lastBad).records()).hasSize(2);

    byte[] firstBad = bytes.clone();
    firstBad[Journal.HEADER_BYTES + Journal.RECORD_HEADER_BYTES] ^= 1;
    assertThatThrownBy(() -> Journal.parse(file(), firstBad)).isInstanceOf(IOException.class)
        .hasMessage("journal " + file() + " is damaged at offset " + Journal.HEADER_BYTES
            + ": a checksum mismatch before further records");
  }

  @Test
  void impossibleLengthIsDamage() throws IOException {
    byte[] bytes = threeRecords();
    ByteBuffer.wrap(bytes).putInt(Journal.HEADER_BYTES, -5);
    assertThatThrownBy(() -> Journal.parse(file(), bytes))
        .hasMessageContaining("damaged at offset " + Journal.HEADER_BYTES
            + ": a record length of -5");
  }

  @Test
  void zeroTailAndTornHeaderHoldNothing() throws IOException {
    byte[] bytes = threeRecords();
    byte[] zeros = Arrays.copyOf(bytes, bytes.length + 4096);
    Journal.Contents c = Journal.parse(file(), zeros);
    assertThat(c.records()).hasSize(3);
    assertThat(c.tornBytes()).isEqualTo(4096);
    for (int n = 0; n < Journal.HEADER_BYTES; n++) {
      assertThat(Journal.parse(file(), Arrays.copyOf(bytes, n)).generation()).isEqualTo(-1);
    }
    assertThatThrownBy(() -> Journal.parse(file(), "not a journal at all, no".getBytes(
        StandardCharsets.US_ASCII))).hasMessageContaining("damaged header");
    byte[] wrongMagic = bytes.clone();
    wrongMagic[0] = 'X';
    assertThatThrownBy(() -> Journal.parse(file(), wrongMagic)).hasMessageContaining("bad magic");
  }

  @Test
  void reopeningCutsTheTornTailBeforeAppending() throws IOException {
    byte[] bytes = threeRecords();
    Files.write(file(), Arrays.copyOf(bytes, bytes.length - 2));
    Journal.Contents c = Journal.read(file());
    try (Journal j = Journal.openForAppend(file(), c)) {
      j.append("four".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(Journal.read(file()).records()).extracting(JournalTest::text)
        .containsExactly("one", "two-two", "four");
  }
}
