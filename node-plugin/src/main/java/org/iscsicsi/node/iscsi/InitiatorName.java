package org.iscsicsi.node.iscsi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import org.iscsicsi.csi.exec.Args;

/**
 * The node's initiator name, open-iscsi's {@code /etc/iscsi/initiatorname.iscsi}
 * ({@code InitiatorName=iqn...}). It is the CSI node id, because the controller grants a volume to
 * exactly this initiator.
 */
public final class InitiatorName {

  private final Path file;

  public InitiatorName(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  /** The name in the file, if the file exists and holds a valid one. */
  public Optional<String> read() throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.startsWith("InitiatorName=")) {
        String name = l.substring("InitiatorName=".length()).strip();
        Args.iscsiName("InitiatorName in " + file, name);
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }

  /**
   * The name in the file; when the file is missing, writes a generated one (as open-iscsi's
   * iscsi-iname would). iscsid reads the file when it starts, so a running iscsid must be
   * restarted to use a newly created name.
   */
  public String readOrCreate() throws IOException {
    Optional<String> existing = read();
    if (existing.isPresent()) {
      return existing.get();
    }
    if (Files.exists(file)) {
      throw new IOException(file + " has no InitiatorName= line: add one (e.g. from"
          + " 'iscsi-iname') and restart iscsid");
    }
    byte[] rnd = new byte[6];
    new SecureRandom().nextBytes(rnd);
    String name = "iqn.2005-03.org.open-iscsi:" + HexFormat.of().formatHex(rnd);
    Files.createDirectories(file.getParent());
    try {
      Files.writeString(file, "InitiatorName=" + name + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      return read().orElseThrow(() -> new IOException(file + " appeared without a name"));
    }
    return name;
  }
}
