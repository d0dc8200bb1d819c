package org.iscsicsi.node.multipath;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What the host's multipath configuration says about this driver's disks: {@code
 * /etc/multipath.conf} and the drop-ins of {@code /etc/multipath/conf.d/*.conf}, read as text
 * (the node plugin never writes host configuration). Replicated volumes need the device stanza of
 * {@link #STANZA} and no blacklist of vendor {@value #VENDOR}; replicas=1 disks stay single-path
 * as long as {@code find_multipaths} is not {@code no} or {@code greedy}.
 */
public record MultipathConfig(String text) {

  /** The T10 vendor id this project's target reports in INQUIRY (what multipathd matches on). */
  public static final String VENDOR = "ISCSICSI";

  /** The drop-in docs/install.md gives (docs/replication.md, section 7). */
  public static final String STANZA = """
      # /etc/multipath/conf.d/iscsi-csi.conf
      defaults {
          polling_interval 2
      }
      devices {
          device {
              vendor "ISCSICSI"
              product ".*"
              path_grouping_policy group_by_prio
              prio alua
              detect_prio yes
              hardware_handler "1 alua"
              path_checker tur
              path_selector "service-time 0"
              failback immediate
              no_path_retry queue
              fast_io_fail_tmo 5
              user_friendly_names no
          }
      }
      """;

  /** Settings of the device stanza without which replicated volumes misbehave, and why. */
  private static final List<String[]> REQUIRED = List.of(
      new String[] {"path_grouping_policy group_by_prio", "the standby paths would get I/O"},
      new String[] {"prio alua", "paths would not be ordered by ALUA state"},
      new String[] {"no_path_retry queue", "a failover would fail I/O (ext4 remounts read-only)"});

  private static final Pattern FIND_MULTIPATHS =
      Pattern.compile("(?m)^\\s*find_multipaths\\s+\"?(\\w+)\"?");

  /** Reads {@code conf} and the {@code *.conf} files of {@code confDir}; missing ones are empty. */
  public static MultipathConfig read(Path conf, Path confDir) {
    StringBuilder all = new StringBuilder(readOrEmpty(conf));
    try (Stream<Path> files = Files.list(confDir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".conf")).sorted()
          .toList()) {
        all.append('\n').append(readOrEmpty(f));
      }
    } catch (IOException e) {
      // no drop-in directory: multipath.conf alone
    }
    return new MultipathConfig(withoutComments(all.toString()));
  }

  /** The drop-in directory beside {@code /etc/multipath.conf}: {@code /etc/multipath/conf.d}. */
  public static Path confDir(Path conf) {
    return conf.resolveSibling("multipath").resolve("conf.d");
  }

  private static String readOrEmpty(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      return "";
    }
  }

  private static String withoutComments(String s) {
    return s.lines().map(l -> {
      int hash = l.indexOf('#');
      return hash < 0 ? l : l.substring(0, hash);
    }).reduce("", (a, b) -> a + b + "\n");
  }

  /** Whether a {@code blacklist} section names this driver's vendor or every sd disk. */
  public boolean blacklistsDriver() {
    for (String b : sections(text, "blacklist")) {
      if (b.contains(VENDOR) || b.contains("devnode \"^sd")) {
        return true;
      }
    }
    return false;
  }

  /** The device section for vendor {@value #VENDOR}, if any. */
  public Optional<String> driverDevice() {
    for (String devices : sections(text, "devices")) {
      for (String d : sections(devices, "device")) {
        if (d.contains("\"" + VENDOR + "\"")) {
          return Optional.of(d);
        }
      }
    }
    return Optional.empty();
  }

  /** {@code find_multipaths} as set (lower case), if set. */
  public Optional<String> findMultipaths() {
    Matcher m = FIND_MULTIPATHS.matcher(text);
    return m.find() ? Optional.of(m.group(1).toLowerCase(Locale.ROOT)) : Optional.empty();
  }

  /** What keeps replicated volumes from staging or failing over well here; empty when none. */
  public List<String> replicationProblems() {
    List<String> out = new ArrayList<>();
    if (blacklistsDriver()) {
      out.add("a blacklist names vendor " + VENDOR + " (or every sd disk)");
    }
    Optional<String> device = driverDevice();
    if (device.isEmpty()) {
      out.add("no device section for vendor \"" + VENDOR + "\"");
    } else {
      String d = device.get().replaceAll("\\s+", " ");
      for (String[] r : REQUIRED) {
        if (!d.contains(r[0])) {
          out.add("the " + VENDOR + " device section lacks '" + r[0] + "' (" + r[1] + ")");
        }
      }
    }
    findMultipaths().filter(v -> v.equals("no") || v.equals("off") || v.equals("greedy"))
        .ifPresent(v -> out.add("find_multipaths " + v + " makes multipathd claim single-path"
            + " disks too (\"already mounted or mount point busy\"); use strict, yes or smart"));
    return out;
  }

  /** The bodies of every {@code name { ... }} section of {@code s} (braces balanced). */
  static List<String> sections(String s, String name) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)(^|\\s)" + Pattern.quote(name) + "\\s*\\{").matcher(s);
    int from = 0;
    while (m.find(from)) {
      int depth = 1;
      int i = m.end();
      while (i < s.length() && depth > 0) {
        char c = s.charAt(i++);
        if (c == '{') {
          depth++;
        } else if (c == '}') {
          depth--;
        }
      }
      out.add(s.substring(m.end(), Math.max(m.end(), i - 1)));
      from = i;
    }
    return out;
  }
}
