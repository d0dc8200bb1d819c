package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An engine's name is fixed for its state directory: engine.json (0600) records it at the first
 * start, later starts keep it (also when they ask for none), a different name is refused unless
 * renaming is allowed, and every start draws a new 128-bit incarnation that GetEngineInfo
 * reports with the name, the node and the file-backed backend.
 */
class EngineIdentityTest {

  @TempDir Path dir;

  /** The first start records the node's name; a restart keeps it and gets a new incarnation. */
  @Test
  void nameRecordedOnceIncarnationPerStart() throws Exception {
    Path state = dir.resolve("state");
    EngineInfo first;
    try (TargetEngine e = start(state, new EngineNaming(null, "node-a", false))) {
      first = info(e);
    }
    assertThat(first.getName()).isEqualTo("node-a");
    assertThat(first.getNode()).isEqualTo("node-a");
    assertThat(first.getIncarnation()).matches("[0-9a-f]{32}");
    Path file = state.resolve(EngineIdentity.FILE);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    JsonNode recorded = new ObjectMapper().readTree(file.toFile());
    assertThat(recorded.get("name").asText()).isEqualTo("node-a");
    assertThat(recorded.get("incarnation").asText()).isEqualTo(first.getIncarnation());
    String createdAt = recorded.get("createdAt").asText();

    EngineInfo second;
    try (TargetEngine e = start(state, EngineNaming.DEFAULT)) {
      second = info(e);
    }
    assertThat(second.getName()).as("no name asked: the directory's").isEqualTo("node-a");
    assertThat(second.getIncarnation()).matches("[0-9a-f]{32}")
        .isNotEqualTo(first.getIncarnation());
    JsonNode again = new ObjectMapper().readTree(file.toFile());
    assertThat(again.get("createdAt").asText()).isEqualTo(createdAt);
    assertThat(again.get("incarnation").asText()).isEqualTo(second.getIncarnation());
    assertThat(state.resolve(EngineIdentity.FILE + ".tmp")).doesNotExist();
  }

  /** Another name is refused, naming both, and the file is left as it was; --rename allows it. */
  @Test
  void anotherNameRefusedUnlessRenamed() throws Exception {
    Path state = dir.resolve("state");
    try (TargetEngine e = start(state, new EngineNaming("node-a", null, false))) {
      assertThat(e.identity().name()).isEqualTo("node-a");
    }
    byte[] before = Files.readAllBytes(state.resolve(EngineIdentity.FILE));
    assertThatThrownBy(() -> start(state, new EngineNaming(null, "node-b", false)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("belongs to engine 'node-a'")
        .hasMessageContaining("not 'node-b'")
        .hasMessageContaining("--rename");
    assertThat(Files.readAllBytes(state.resolve(EngineIdentity.FILE))).isEqualTo(before);
    try (TargetEngine e = start(state, new EngineNaming(null, "node-b", true))) {
      assertThat(info(e).getName()).isEqualTo("node-b");
    }
    try (TargetEngine e = start(state, EngineNaming.DEFAULT)) {
      assertThat(e.identity().name()).isEqualTo("node-b");
    }
  }

  /** A new directory without a name or node is "local", as the embedded default always was. */
  @Test
  void newDirectoryWithoutNameIsLocal() throws Exception {
    try (TargetEngine e = start(dir.resolve("s"), EngineNaming.DEFAULT)) {
      EngineInfo info = info(e);
      assertThat(info.getName()).isEqualTo(EngineName.LOCAL);
      assertThat(info.getNode()).isEmpty();
      assertThat(info.getBackendsList()).singleElement().satisfies(b -> {
        assertThat(b.getName()).isEqualTo("fileio");
        assertThat(b.getType()).isEqualTo("fileio");
        assertThat(b.getTotalBytes()).isPositive();
        assertThat(b.getAvailableBytes()).isPositive().isLessThanOrEqualTo(b.getTotalBytes());
      });
    }
  }

  /** Node names that break the engine-name rule are hashed; "pool" and bad names are refused. */
  @Test
  void namesFollowTheVolumeIdRule() throws Exception {
    assertThat(EngineName.forNode("worker-1")).isEqualTo("worker-1");
    assertThat(EngineName.forNode("ip-10-0-0-1.ec2.internal")).matches("n-[0-9a-f]{24}")
        .isEqualTo(EngineName.forNode("ip-10-0-0-1.ec2.internal"));
    assertThat(EngineName.forNode("pool")).startsWith("n-");
    assertThat(EngineName.forNode("a".repeat(33))).startsWith("n-");
    assertThat(EngineName.forNode("a".repeat(32))).isEqualTo("a".repeat(32));
    assertThatThrownBy(() -> new EngineNaming("pool", null, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 'pool'");
    assertThatThrownBy(() -> new EngineNaming("Node_A", null, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 32");
    Path state = dir.resolve("bad");
    Files.createDirectories(state);
    Files.writeString(state.resolve(EngineIdentity.FILE),
        "{\"formatVersion\": 1, \"name\": \"X\"}");
    assertThatThrownBy(() -> start(state, EngineNaming.DEFAULT)).isInstanceOf(IOException.class)
        .hasMessageContaining("invalid engine name");
    Files.writeString(state.resolve(EngineIdentity.FILE), "{not json");
    assertThatThrownBy(() -> start(state, EngineNaming.DEFAULT)).isInstanceOf(IOException.class)
        .hasMessageContaining("is damaged");
  }

  private static TargetEngine start(Path state, EngineNaming naming) throws IOException {
    return TargetEngine.start(EngineConfig.of(state).withIscsi(false).withNaming(naming));
  }

  private static EngineInfo info(TargetEngine e) {
    return TargetAdminGrpc.newBlockingStub(e.adminChannel())
        .getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
  }
}
