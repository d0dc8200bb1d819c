package org.iscsicsi.target.state;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.acl.InitiatorGrant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the state directory: a full round trip of every field (secrets included), mode 0600/0700,
 * atomic replacement (a torn temporary file never replaces the document), clear errors naming
 * file and position for corrupt or unknown-version documents without echoing their content, and
 * the lock that keeps a second engine off the same directory. And the journal: a change appends
 * one record and leaves the snapshot alone, survives a reopen, a torn or zeroed tail is dropped
 * while damage before further records fails the load, compaction folds the journal into a new
 * snapshot (and a journal left over from before it is ignored), and a format-1 file converts.
 */
class StateStoreTest {

  @TempDir
  Path dir;

  static EngineState sample() {
    var lun = new LunRecord(3, "/pool/abc.img", 1 << 20, 512, true, false, "0011223344556677",
        "60a49530123456789abcdef012345678");
    var t = new TargetRecord("iqn.2026-11.org.example:t1", "alias one", 1,
        Map.of("pvc", "p1", "ns", "default"), Map.of("MaxRecvDataSegmentLength", "65536"),
        List.of(InitiatorGrant.of("ALL", true),
            InitiatorGrant.of("iqn.1993-08.org.debian:01:aaaa", false)),
        new ChapSecret("alice", "initiator-secret-1".getBytes(UTF_8)),
        new ChapSecret("target", "target-secret-22".getBytes(UTF_8)), List.of(lun));
    var s = new SnapshotRecord("snap-1", t.name(), 3, 1 << 20, 512, 1234567890L,
        "/snaps/snap-1.img", Map.of("k", "v"));
    return new EngineState(EngineState.FORMAT_VERSION, List.of(t), List.of(s));
  }

  @Test
  void emptyDirectoryLoadsEmptyState() throws IOException {
    try (var store = StateStore.open(dir.resolve("new"))) {
      assertThat(store.load()).isEqualTo(EngineState.empty());
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("new"))))
          .isEqualTo("rwx------");
    }
  }

  @Test
  void roundTripKeepsEveryField() throws IOException {
    EngineState s = sample();
    try (var store = StateStore.open(dir)) {
      store.save(s);
    }
    try (var store = StateStore.open(dir)) {
      EngineState back = store.load();
      assertThat(back).isEqualTo(s);
      TargetRecord t = back.targets().getFirst();
      assertThat(t.incomingChap().secret()).isEqualTo("initiator-secret-1".getBytes(UTF_8));
      assertThat(t.outgoingChap().user()).isEqualTo("target");
      assertThat(t.luns().getFirst().naa()).isEqualTo("60a49530123456789abcdef012345678");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
          store.stateFile()))).isEqualTo("rw-------");
    }
  }

  @Test
  void tornTemporaryFileDoesNotReplaceTheDocument() throws IOException {
    try (var store = StateStore.open(dir)) {
      store.save(sample());
      // A crash while writing the next version leaves a partial temp file behind.
      Files.writeString(dir.resolve("state.json.tmp"), "{\"formatVersion\": 1, \"targ");
    }
    try (var store = StateStore.open(dir)) {
      assertThat(store.load()).isEqualTo(sample());
      store.save(EngineState.empty()); // and the leftover does not block the next save
      assertThat(store.load()).isEqualTo(EngineState.empty());
      assertThat(dir.resolve("state.json.tmp")).doesNotExist();
    }
  }

  @Test
  void corruptJsonGivesClearErrorWithoutContent() throws IOException {
    Files.writeString(dir.resolve("state.json"),
        "{\"formatVersion\": 1,\n \"targets\": [ {\"name\": \"secret-looking-value\" ");
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).isInstanceOf(IOException.class)
          .hasMessageContaining("state.json is not valid JSON (line 2")
          .message().doesNotContain("secret-looking-value");
    }
  }

  @Test
  void unknownFormatVersionIsRefused() throws IOException {
    Files.writeString(dir.resolve("state.json"), "{\"formatVersion\": 7, \"targets\": []}");
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load)
          .hasMessageContaining("format version 7, this engine reads versions 1 and 2");
    }
    Files.writeString(dir.resolve("state.json"), "{\"targets\": []}");
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).hasMessageContaining("no integer formatVersion");
    }
    Files.writeString(dir.resolve("state.json"), "[1, 2]");
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).hasMessageContaining("not a JSON object");
    }
  }

  @Test
  void wrongFieldTypeNamesTheFieldNotTheValue() throws IOException {
    Files.writeString(dir.resolve("state.json"), "{\"formatVersion\": 1, \"targets\": [{\"name\":"
        + " \"iqn.2026-11.org.example:t\", \"portalGroupTag\": \"abc-secretish\"}]}");
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).hasMessageContaining("targets.[0].portalGroupTag")
          .message().doesNotContain("abc-secretish");
    }
  }

  @Test
  void secondOpenOfTheSameDirectoryIsRefused() throws IOException {
    try (var _ = StateStore.open(dir)) {
      assertThatThrownBy(() -> StateStore.open(dir)).isInstanceOf(IOException.class)
          .hasMessageContaining("in use by another target engine");
    }
    try (var again = StateStore.open(dir)) {
      assertThat(again.dir()).isEqualTo(dir.toAbsolutePath());
    }
  }

  static TargetRecord target(int i) {
    return new TargetRecord("iqn.2026-11.org.example:v" + i, "", 1, Map.of("pvc", "p" + i),
        Map.of(), List.of(), null, null, List.of(new LunRecord(0, "/pool/v" + i + ".img",
            1 << 20, 512, false, false, String.format("%016x", i),
            String.format("60a49530%024x", i))));
  }

  static List<StateChange> put(int i) {
    return List.of(new StateChange.PutTarget(target(i)));
  }

  @Test
  void changesGoToTheJournalAndSurviveAReopen() throws IOException {
    try (var store = StateStore.open(dir)) {
      store.save(sample());
      byte[] snapshot = Files.readAllBytes(store.stateFile());
      store.apply(put(1));
      store.apply(put(2));
      store.apply(List.of(new StateChange.RemoveTarget(target(1).name()),
          new StateChange.RemoveSnapshot("snap-1")));
      assertThat(Files.readAllBytes(store.stateFile())).isEqualTo(snapshot);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
          store.journalFile()))).isEqualTo("rw-------");
    }
    try (var store = StateStore.open(dir)) {
      EngineState back = store.load();
      assertThat(back.targets()).containsExactly(sample().targets().getFirst(), target(2));
      assertThat(back.snapshots()).isEmpty();
      assertThat(StateStore.peek(dir)).isEqualTo(back);
    }
  }

  @Test
  void tornTailIsDroppedAndLaterChangesStillCount() throws IOException {
    Path journal;
    try (var store = StateStore.open(dir)) {
      store.load();
      store.apply(put(1));
      store.apply(put(2));
      journal = store.journalFile();
    }
    // The engine died while appending the second record: only part of it reached the disk.
    try (var ch = java.nio.channels.FileChannel.open(journal,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 5);
    }
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).containsExactly(target(1));
      store.apply(put(3));
    }
    // A tail of zeros (the file grew, its data never written) is torn too.
    Files.write(journal, new byte[300], java.nio.file.StandardOpenOption.APPEND);
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).containsExactly(target(1), target(3));
    }
  }

  @Test
  void damageBeforeLaterRecordsFailsTheLoad() throws IOException {
    Path journal;
    try (var store = StateStore.open(dir)) {
      store.load();
      store.apply(put(1));
      store.apply(put(2));
      journal = store.journalFile();
    }
    byte[] bytes = Files.readAllBytes(journal);
    bytes[Journal.HEADER_BYTES + Journal.RECORD_HEADER_BYTES + 3] ^= 0x20;
    Files.write(journal, bytes);
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).isInstanceOf(IOException.class)
          .hasMessageContaining("journal " + journal + " is damaged at offset "
              + Journal.HEADER_BYTES + ": a checksum mismatch before further records");
    }
  }

  @Test
  void compactionFoldsTheJournalIntoANewSnapshot() throws IOException {
    byte[] oldJournal;
    try (var store = StateStore.open(dir)) {
      store.load();
      for (int i = 0; i < 20; i++) {
        store.apply(put(i));
      }
      oldJournal = Files.readAllBytes(store.journalFile());
      store.compact();
      assertThat(store.journalBytes()).isEqualTo(Journal.HEADER_BYTES);
      store.apply(put(20));
    }
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).hasSize(21);
    }
    // The engine died after the new snapshot was in place, before the journal started over: the
    // old journal's changes are all in the snapshot, and it is not replayed over it.
    Files.write(dir.resolve(StateStore.JOURNAL_FILE), oldJournal);
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).hasSize(20);
      store.apply(List.of(new StateChange.RemoveTarget(target(0).name())));
    }
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).hasSize(19).doesNotContain(target(0));
    }
  }

  @Test
  void journalWithoutItsSnapshotOrOfANewerGenerationIsRefused() throws IOException {
    try (var store = StateStore.open(dir)) {
      store.load();
      store.apply(put(1));
    }
    byte[] journal = Files.readAllBytes(dir.resolve(StateStore.JOURNAL_FILE));
    java.nio.ByteBuffer.wrap(journal).putLong(Journal.MAGIC.length, 99);
    Files.write(dir.resolve(StateStore.JOURNAL_FILE), journal);
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).hasMessageContaining("has generation 99, newer than");
    }
    Files.delete(dir.resolve(StateStore.STATE_FILE));
    try (var store = StateStore.open(dir)) {
      assertThatThrownBy(store::load).hasMessageContaining("exists without its state file");
    }
  }

  @Test
  void formatOneFileIsConverted() throws IOException {
    // Format 1: the whole state in one document, rewritten on every change.
    var v1 = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
        .put("formatVersion", 1);
    var tree = new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(sample());
    v1.set("targets", tree.get("targets"));
    v1.set("snapshots", tree.get("snapshots"));
    Files.writeString(dir.resolve("state.json"), v1.toPrettyString());
    try (var store = StateStore.open(dir)) {
      assertThat(store.load()).isEqualTo(sample());
      assertThat(Files.readString(store.stateFile())).contains("\"formatVersion\":2")
          .contains("\"journalGeneration\":1");
      store.apply(put(1));
    }
    try (var store = StateStore.open(dir)) {
      assertThat(store.load().targets()).hasSize(2);
    }
  }

  @Test
  void aClosedStoreRefusesChanges() throws IOException {
    var store = StateStore.open(dir);
    store.load();
    store.close();
    store.close();
    assertThatThrownBy(() -> store.apply(put(1))).isInstanceOf(IOException.class)
        .hasMessageContaining("is closed");
  }
}
