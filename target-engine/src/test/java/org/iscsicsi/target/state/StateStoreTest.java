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
 * the lock that keeps a second engine off the same directory.
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
          .hasMessageContaining("format version 7, this engine reads version 1");
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
}
