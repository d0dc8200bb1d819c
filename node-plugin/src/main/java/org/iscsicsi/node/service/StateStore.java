package org.iscsicsi.node.service;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * One small properties file per staged volume in a directory on the host (it must survive the
 * plugin's restarts), written atomically (temp file, then rename). File names are a hash of the
 * volume id, which may hold any characters.
 */
public final class StateStore {

  private static final String CTX = "ctx.";
  private final Path dir;

  public StateStore(Path dir) {
    this.dir = dir;
  }

  public void save(StagedVolume v) throws IOException {
    Files.createDirectories(dir);
    Properties p = new Properties();
    p.setProperty("volumeId", v.volumeId());
    p.setProperty("stagingPath", v.stagingPath().toString());
    p.setProperty("block", Boolean.toString(v.block()));
    p.setProperty("fsType", v.fsType());
    p.setProperty("readOnly", Boolean.toString(v.readOnly()));
    v.publishContext().forEach((k, val) -> p.setProperty(CTX + k, val));
    StringWriter w = new StringWriter();
    p.store(w, "iscsi-csi node state; deleted by NodeUnstageVolume");
    Path tmp = Files.createTempFile(dir, ".tmp-", ".properties");
    try {
      Files.writeString(tmp, w.toString(), StandardCharsets.UTF_8);
      Files.move(tmp, file(v.volumeId()), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  public Optional<StagedVolume> load(String volumeId) throws IOException {
    Path f = file(volumeId);
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    return Optional.of(read(f));
  }

  public void delete(String volumeId) throws IOException {
    Files.deleteIfExists(file(volumeId));
  }

  /** Every staged volume this node knows. */
  public List<StagedVolume> all() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> files = s.filter(p -> p.getFileName().toString().startsWith("vol-")).toList();
      List<StagedVolume> out = new java.util.ArrayList<>();
      for (Path f : files) {
        out.add(read(f));
      }
      return out;
    }
  }

  private static StagedVolume read(Path f) throws IOException {
    Properties p = new Properties();
    p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
    Map<String, String> ctx = new HashMap<>();
    for (String k : p.stringPropertyNames()) {
      if (k.startsWith(CTX)) {
        ctx.put(k.substring(CTX.length()), p.getProperty(k));
      }
    }
    return new StagedVolume(p.getProperty("volumeId"), Path.of(p.getProperty("stagingPath")),
        ctx, Boolean.parseBoolean(p.getProperty("block")), p.getProperty("fsType", ""),
        Boolean.parseBoolean(p.getProperty("readOnly")));
  }

  private Path file(String volumeId) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256")
          .digest(volumeId.getBytes(StandardCharsets.UTF_8));
      return dir.resolve("vol-" + HexFormat.of().formatHex(h, 0, 16) + ".properties");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
