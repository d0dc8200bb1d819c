package org.iscsicsi.node.iscsi;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.iscsicsi.csi.exec.Args;

/**
 * open-iscsi's record files, edited directly so that CHAP secrets never pass through a command
 * line ({@code iscsiadm -o update -v SECRET} would show them in {@code /proc/PID/cmdline} to every
 * process on the host). iscsiadm creates the records ({@code -o new}); this class finds the file it
 * wrote and replaces settings in it. iscsiadm reads the file again at login and discovery.
 *
 * <p>Layout of open-iscsi 2.x under the database root (default {@code /etc/iscsi}):
 * {@code nodes/IQN/ADDRESS,PORT,TPGT/IFACE}, or the flat file {@code nodes/IQN/ADDRESS,PORT} (older
 * releases, and 2.1 when it wrote the record without iscsid) and {@code
 * send_targets/ADDRESS,PORT/st_config}. Each holds {@code name = value} lines; the value runs to
 * the end of the line, so a value must not begin or end with white space or hold a control
 * character (a newline would inject another setting).
 *
 * <p>A file is replaced atomically (a temporary file in the same directory, fsync, rename) with
 * mode 0600, and the directories from the record up to the database's own directory get 0700:
 * the record holds the secret at rest, readable by root only.
 */
public final class NodeDatabase {

  /** open-iscsi's closing line of a record; settings go before it. */
  static final String END_RECORD = "# END RECORD";

  private static final Set<PosixFilePermission> FILE_MODE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> DIR_MODE =
      PosixFilePermissions.fromString("rwx------");
  private static final String DISCOVERY_FILE = "st_config";

  private final Path root;

  /** @param root open-iscsi's configuration directory as this process sees it */
  public NodeDatabase(Path root) {
    this.root = root;
  }

  public Path root() {
    return root;
  }

  /**
   * The record file iscsiadm created for {@code iqn} at {@code portal}: the one file below
   * {@code nodes/IQN/ADDRESS,PORT,*}.
   *
   * @throws IscsiException when there is none or more than one (several ifaces or TPGTs)
   */
  public Path nodeRecord(String iqn, Portal portal) throws IscsiException {
    Path dir = root.resolve("nodes").resolve(Args.iscsiName("target IQN",
        iqn));
    String prefix = address(portal) + "," + portal.port();
    List<Path> found = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path e : entries.toList()) {
        String name = e.getFileName().toString();
        if (!name.equals(prefix) && !name.startsWith(prefix + ",")) {
          continue;
        }
        BasicFileAttributes a = attributes(e);
        if (a.isRegularFile()) {
          found.add(e);
        } else if (a.isDirectory()) {
          try (Stream<Path> ifaces = Files.list(e)) {
            ifaces.filter(f -> attributes(f).isRegularFile()).forEach(found::add);
          }
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      throw missing("node record of " + iqn + " at " + portal, dir, e);
    }
    return single(found, "node record of " + iqn + " at " + portal, dir);
  }

  /** The SendTargets discovery record iscsiadm created for {@code portal}. */
  public Path discoveryRecord(Portal portal) throws IscsiException {
    Path f = root.resolve("send_targets").resolve(address(portal) + "," + portal.port())
        .resolve(DISCOVERY_FILE);
    try {
      if (!attributes(f).isRegularFile()) {
        throw missing("discovery record of " + portal, f, null);
      }
    } catch (java.io.UncheckedIOException e) {
      throw missing("discovery record of " + portal, f, e);
    }
    return f;
  }

  /**
   * Sets {@code settings} in the record file: a line of the same name is replaced, a name mapped
   * to {@code null} is removed, other lines are kept as they are.
   */
  public void update(Path record, Map<String, String> settings) throws IscsiException {
    if (!record.normalize().startsWith(root.normalize())) {
      throw new IllegalArgumentException(record + " is not in the node database " + root);
    }
    Map<String, String> pending = new LinkedHashMap<>();
    settings.forEach((name, value) -> pending.put(
        Args.setting(name), value == null ? null : value(name, value)));
    try {
      List<String> out = new ArrayList<>();
      List<String> lines = Files.readAllLines(record, StandardCharsets.UTF_8);
      for (String line : lines) {
        String name = nameOf(line);
        if (name != null && pending.containsKey(name)) {
          continue;
        }
        if (line.strip().equals(END_RECORD)) {
          appendSettings(out, pending);
        }
        out.add(line);
      }
      if (lines.stream().noneMatch(l -> l.strip().equals(END_RECORD))) {
        appendSettings(out, pending);
      }
      writeAtomically(record, String.join("\n", out) + "\n");
      restrictDirectories(record.getParent());
    } catch (IOException e) {
      throw new IscsiException(IscsiException.Kind.OTHER, -1, "cannot update the open-iscsi"
          + " record " + record + ": " + e.getMessage(), e);
    }
  }

  private static void appendSettings(List<String> out, Map<String, String> pending) {
    pending.forEach((name, value) -> {
      if (value != null) {
        out.add(name + " = " + value);
      }
    });
    pending.clear();
  }

  /** The setting name of a {@code name = value} line; null for comments and blank lines. */
  static String nameOf(String line) {
    String s = line.strip();
    if (s.isEmpty() || s.startsWith("#")) {
      return null;
    }
    int eq = s.indexOf('=');
    return (eq < 0 ? s : s.substring(0, eq)).strip();
  }

  private static String value(String name, String value) {
    if (value.isEmpty() || !value.strip().equals(value)) {
      throw new IllegalArgumentException(name + " must not be empty or begin or end with white"
          + " space (open-iscsi's record format would not keep it)");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw new IllegalArgumentException(name + " must not contain control characters");
      }
    }
    if (value.startsWith("\"")) {
      throw new IllegalArgumentException(name + " must not start with a quote");
    }
    return value;
  }

  private static void writeAtomically(Path file, String content) throws IOException {
    Path dir = file.getParent();
    Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp",
        PosixFilePermissions.asFileAttribute(FILE_MODE));
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ch.write(java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system of " + dir + " cannot rename atomically", e);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true); // the rename itself survives a crash
    }
  }

  /** 0700 on {@code dir} and its parents up to, not including, the database root. */
  private void restrictDirectories(Path dir) throws IOException {
    Path stop = root.normalize();
    for (Path d = dir.normalize(); d != null && d.startsWith(stop) && !d.equals(stop);
        d = d.getParent()) {
      if (attributes(d).isDirectory()) {
        Files.setPosixFilePermissions(d, DIR_MODE);
      }
    }
  }

  private static String address(Portal portal) {
    return portal.bareHost();
  }

  private static BasicFileAttributes attributes(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Path single(List<Path> found, String what, Path dir) throws IscsiException {
    if (found.size() == 1) {
      return found.getFirst();
    }
    if (found.isEmpty()) {
      throw missing(what, dir, null);
    }
    throw new IscsiException(IscsiException.Kind.OTHER, -1, "more than one " + what + " in "
        + dir + " (" + found + "): several ifaces or portal groups; leaving them alone", null);
  }

  private static IscsiException missing(String what, Path where, Exception cause) {
    return new IscsiException(IscsiException.Kind.OTHER, -1, "no " + what + " in " + where
        + " (is --iscsi-dir the directory iscsiadm uses?)"
        + (cause == null ? "" : ": " + cause.getMessage()), cause);
  }
}
