package org.iscsicsi.e2e.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.target.state.StateStore;

/**
 * What the controller's embedded target engine holds, read from its state directory: the
 * state (its snapshot and journal, through {@code StateStore.peek}), and the LUN and
 * snapshot files beside it: the engine's own record of targets, LUNs, initiator grants and
 * snapshots, read without going through its admin API.
 */
record EngineView(List<Target> targets, List<Snapshot> snapshots, List<Path> lunFiles,
    List<Path> snapshotFiles) {

  record Target(String name, List<String> initiators, List<Lun> luns, boolean chap,
      String labelsJson) {}

  record Lun(Path file, long sizeBytes) {}

  record Snapshot(String id, String sourceTarget, Path file) {}

  static EngineView read(Path stateDir) throws IOException {
    List<Target> targets = new ArrayList<>();
    List<Snapshot> snapshots = new ArrayList<>();
    if (Files.isDirectory(stateDir)) {
      JsonNode root = new ObjectMapper().valueToTree(StateStore.peek(stateDir));
      for (JsonNode t : root.path("targets")) {
        List<String> initiators = new ArrayList<>();
        t.path("grants").forEach(g -> initiators.add(g.path("initiator").asText()));
        List<Lun> luns = new ArrayList<>();
        t.path("luns").forEach(l -> luns.add(new Lun(Path.of(l.path("file").asText()),
            l.path("sizeBytes").asLong())));
        boolean chap = !t.path("incomingChap").isMissingNode() && !t.path("incomingChap").isNull();
        targets.add(new Target(t.path("name").asText(), initiators, luns, chap,
            t.path("labels").toString()));
      }
      for (JsonNode s : root.path("snapshots")) {
        snapshots.add(new Snapshot(s.path("id").asText(), s.path("sourceTarget").asText(),
            Path.of(s.path("file").asText())));
      }
    }
    return new EngineView(targets, snapshots, files(stateDir.resolve("luns")),
        files(stateDir.resolve("snapshots")));
  }

  private static List<Path> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var s = Files.list(dir)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  /** The target of a CSI volume handle ({@code <engine>.<id>}): named {@code <prefix>:<handle>}. */
  Optional<Target> target(String volumeHandle) {
    return targets.stream().filter(t -> t.name().endsWith(":" + volumeHandle)).findFirst();
  }
}
