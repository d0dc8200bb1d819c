package org.iscsicsi.node.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Parses /proc/self/mountinfo (proc(5)). Mount points are octal-escaped there ({@code \040} for a
 * space); the optional fields end at the lone {@code -}.
 */
public final class MountTable {

  private final List<MountEntry> entries;

  private MountTable(List<MountEntry> entries) {
    this.entries = List.copyOf(entries);
  }

  public static MountTable read(Path mountinfo) throws IOException {
    return parse(Files.readString(mountinfo));
  }

  public static MountTable parse(String text) {
    List<MountEntry> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split(" ");
      int dash = Arrays.asList(f).indexOf("-");
      if (dash < 6 || dash + 2 >= f.length) {
        continue;
      }
      out.add(new MountEntry(Integer.parseInt(f[0]), Integer.parseInt(f[1]), f[2],
          unescape(f[3]), Path.of(unescape(f[4])), List.of(f[5].split(",")), f[dash + 1],
          unescape(f[dash + 2]),
          dash + 3 < f.length ? List.of(f[dash + 3].split(",")) : List.of()));
    }
    return new MountTable(out);
  }

  public List<MountEntry> entries() {
    return entries;
  }

  /** The topmost mount at exactly this path (the last one listed wins, as in the kernel). */
  public Optional<MountEntry> at(Path mountPoint) {
    Path p = mountPoint.toAbsolutePath().normalize();
    MountEntry found = null;
    for (MountEntry e : entries) {
      if (e.mountPoint().equals(p)) {
        found = e;
      }
    }
    return Optional.ofNullable(found);
  }

  /** Every mount of the device MAJOR:MINOR. */
  public List<MountEntry> ofDevice(String majorMinor) {
    return entries.stream().filter(e -> e.majorMinor().equals(majorMinor)).toList();
  }

  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
