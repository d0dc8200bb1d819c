package org.iscsicsi.node.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.iscsicsi.node.iscsi.Portal;

/**
 * Finds the disk of an iSCSI LUN: first through udev's {@code /dev/disk/by-path} link, then
 * through sysfs ({@code /sys/class/iscsi_session/sessionN/device/targetH:C:T/H:C:T:L/block/sdX}),
 * which works without udev. Also reports the state of the session that serves a target.
 */
public final class IscsiDisks {

  private static final Pattern HCTL = Pattern.compile("\\d+:\\d+:\\d+:(\\d+)");

  private final Sysfs sysfs;

  public IscsiDisks(Sysfs sysfs) {
    this.sysfs = sysfs;
  }

  /** A session as sysfs shows it. */
  public record SessionInfo(String name, String targetIqn, Optional<Portal> portal, String state) {
    public boolean loggedIn() {
      return "LOGGED_IN".equals(state);
    }
  }

  /** The device node (e.g. /dev/sdb) of LUN {@code lun} of {@code iqn} reached through portal. */
  public Optional<Path> find(String iqn, Portal portal, int lun) {
    Path link = sysfs.devRoot().resolve("disk/by-path")
        .resolve("ip-" + portal.bareHost() + ":" + portal.port() + "-iscsi-" + iqn + "-lun-" + lun);
    if (Files.exists(link)) {
      try {
        return Optional.of(link.toRealPath());
      } catch (IOException e) {
        // dangling link: fall through to sysfs
      }
    }
    for (SessionInfo s : sessions()) {
      if (!s.targetIqn().equals(iqn) || !portalMatches(s, portal)) {
        continue;
      }
      Optional<String> disk = diskOf(s.name(), lun);
      if (disk.isPresent()) {
        return Optional.of(sysfs.devRoot().resolve(disk.get()));
      }
    }
    return Optional.empty();
  }

  /** The sessions sysfs knows, with their target, portal and state. */
  public List<SessionInfo> sessions() {
    Path cls = sysfs.sysRoot().resolve("class/iscsi_session");
    List<SessionInfo> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(cls)) {
      for (Path p : s.sorted().toList()) {
        String name = p.getFileName().toString();
        String iqn = Sysfs.text(p.resolve("targetname")).orElse("");
        String state = Sysfs.text(p.resolve("state")).orElse("UNKNOWN");
        out.add(new SessionInfo(name, iqn, portalOf(name), state));
      }
    } catch (IOException e) {
      return out;
    }
    return out;
  }

  /** The session serving {@code iqn} through {@code portal}, if any. */
  public Optional<SessionInfo> session(String iqn, Portal portal) {
    return sessions().stream().filter(s -> s.targetIqn().equals(iqn) && portalMatches(s, portal))
        .findFirst();
  }

  private static boolean portalMatches(SessionInfo s, Portal portal) {
    // A session whose portal sysfs does not show is matched by target name alone.
    return s.portal().map(p -> p.port() == portal.port()
        && p.bareHost().equalsIgnoreCase(portal.bareHost())).orElse(true);
  }

  private Optional<Portal> portalOf(String session) {
    String n = session.replace("session", "");
    Path conn = sysfs.sysRoot().resolve("class/iscsi_connection/connection" + n + ":0");
    Optional<String> addr = Sysfs.text(conn.resolve("persistent_address"))
        .or(() -> Sysfs.text(conn.resolve("address")));
    Optional<String> port = Sysfs.text(conn.resolve("persistent_port"))
        .or(() -> Sysfs.text(conn.resolve("port")));
    if (addr.isEmpty() || port.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Portal.ofBareHost(addr.get(), Integer.parseInt(port.get())));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private Optional<String> diskOf(String session, int lun) {
    Path dev = sysfs.sysRoot().resolve("class/iscsi_session").resolve(session).resolve("device");
    try (Stream<Path> targets = Files.list(dev)) {
      for (Path t : targets.filter(p -> p.getFileName().toString().startsWith("target"))
          .toList()) {
        try (Stream<Path> luns = Files.list(t)) {
          for (Path l : luns.toList()) {
            Matcher m = HCTL.matcher(l.getFileName().toString());
            if (m.matches() && Integer.parseInt(m.group(1)) == lun) {
              try (Stream<Path> blocks = Files.list(l.resolve("block"))) {
                Optional<String> b = blocks.map(p -> p.getFileName().toString()).findFirst();
                if (b.isPresent()) {
                  return b;
                }
              } catch (IOException e) {
                // LUN present but no block device yet (still probing)
              }
            }
          }
        }
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
