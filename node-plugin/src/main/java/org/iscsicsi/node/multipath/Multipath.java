package org.iscsicsi.node.multipath;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;

/**
 * multipath-tools' {@code multipath} and {@code multipathd}, one method per operation the node
 * plugin needs for a replicated volume (docs/replication.md, section 7). Every argument is
 * validated before it reaches a command: a WWID is {@code 3} and 16 or 32 lower-case hex digits
 * (an NAA designator), a path is a SCSI disk name ({@code sdX}).
 */
public final class Multipath {

  /** {@code 3<naa>}: NAA type 5 (8 bytes) or 6 (16 bytes), as the map is named. */
  private static final Pattern WWID = Pattern.compile("3(\\p{XDigit}{16}|\\p{XDigit}{32})");
  private static final Pattern DISK = Pattern.compile("sd[a-z]{1,4}");
  /** What {@code multipath -f} says of a map something holds open. */
  private static final String IN_USE = "in use";
  private static final Duration FLUSH_RETRY_PAUSE = Duration.ofMillis(500);

  private final CommandRunner runner;
  private final String multipath;
  private final String multipathd;
  private final Duration timeout;

  /**
   * @param multipath path of multipath (or a wrapper that enters the host)
   * @param multipathd path of multipathd, used as its own client ({@code multipathd CMD})
   */
  public Multipath(CommandRunner runner, String multipath, String multipathd, Duration timeout) {
    this.runner = Objects.requireNonNull(runner);
    this.multipath = Objects.requireNonNull(multipath);
    this.multipathd = Objects.requireNonNull(multipathd);
    this.timeout = timeout;
  }

  /** Checks a WWID as the map's name: {@code 3} and lower-case hex. */
  public static String wwid(String value) {
    if (value == null || !WWID.matcher(value).matches() || !value.equals(value.toLowerCase(
        java.util.Locale.ROOT))) {
      throw new IllegalArgumentException("not a multipath WWID (3 and 16 or 32 lower-case hex"
          + " digits): '" + value + "'");
    }
    return value;
  }

  private static String disk(String name) {
    if (name == null || !DISK.matcher(name).matches()) {
      throw new IllegalArgumentException("not a SCSI disk name: '" + name + "'");
    }
    return name;
  }

  /** {@code multipath -a /dev/sdX}: the path's WWID goes into the wwids file. */
  public void addWwid(Path devRoot, String pathDisk) throws MultipathException {
    checked(Command.of(timeout, multipath, "-a", devRoot.resolve(disk(pathDisk)).toString()),
        "adding the WWID of " + pathDisk);
  }

  /** {@code multipath -w /dev/sdX}: the path's WWID leaves the wwids file. */
  public void removeWwid(Path devRoot, String pathDisk) throws MultipathException {
    checked(Command.of(timeout, multipath, "-w", devRoot.resolve(disk(pathDisk)).toString()),
        "removing the WWID of " + pathDisk);
  }

  /** {@code multipathd add path sdX}: multipathd takes the path (and builds or grows its map). */
  public void addPath(String pathDisk) throws MultipathException {
    checked(Command.of(timeout, multipathd, "add", "path", disk(pathDisk)),
        "multipathd add path " + pathDisk);
  }

  /** {@code multipathd del path sdX}: multipathd forgets the path before its disk goes. */
  public void delPath(String pathDisk) throws MultipathException {
    checked(Command.of(timeout, multipathd, "del", "path", disk(pathDisk)),
        "multipathd del path " + pathDisk);
  }

  /**
   * {@code multipathd disablequeueing map 3<naa>}: queued and new I/O fail instead of waiting
   * for a path, so that an unmount of a map without any usable path can finish.
   */
  public void disableQueueing(String wwid) throws MultipathException {
    checked(Command.of(timeout, multipathd, "disablequeueing", "map", wwid(wwid)),
        "disabling queueing on map " + wwid);
  }

  /**
   * {@code multipath -f 3<naa>}, retried for {@code inUseWait} while the map is still in use
   * (an unmount's last references drain asynchronously).
   */
  public void flush(String wwid, Duration inUseWait) throws MultipathException {
    Command c = Command.of(timeout, multipath, "-f", wwid(wwid));
    long deadline = System.nanoTime() + inUseWait.toNanos();
    while (true) {
      CommandResult r = run(c, "flushing map " + wwid);
      if (r.ok()) {
        return;
      }
      String out = r.stdout() + r.stderr();
      if (!out.contains(IN_USE) || System.nanoTime() > deadline) {
        throw failure(c, r, "flushing map " + wwid
            + (out.contains(IN_USE) ? " (still in use after " + inUseWait.toSeconds() + " s)"
                : ""));
      }
      try {
        Thread.sleep(FLUSH_RETRY_PAUSE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MultipathException("interrupted while flushing map " + wwid, e);
      }
    }
  }

  /**
   * {@code multipathd resize map 3<naa>}: the map takes its paths' new size (after their disks
   * were rescanned).
   */
  public void resize(String wwid) throws MultipathException {
    checked(Command.of(timeout, multipathd, "resize", "map", wwid(wwid)),
        "resizing map " + wwid);
  }

  /** The paths multipathd holds for map {@code 3<naa>}, with their states. */
  public List<PathState> paths(String wwid) throws MultipathException {
    CommandResult r = checked(Command.of(timeout, multipathd, "show", "paths", "raw", "format",
        "%w %d %t %T"), "listing multipath paths");
    return parsePaths(r.stdout(), wwid(wwid));
  }

  static List<PathState> parsePaths(String out, String wwid) {
    List<PathState> paths = new ArrayList<>();
    for (String line : out.split("\n")) {
      String[] f = line.strip().split("\\s+");
      if (f.length >= 4 && f[0].equals(wwid)) {
        paths.add(new PathState(f[1], f[2], f[3]));
      }
    }
    return paths;
  }

  private CommandResult checked(Command c, String what) throws MultipathException {
    CommandResult r = run(c, what);
    if (!r.ok()) {
      throw failure(c, r, what);
    }
    return r;
  }

  private CommandResult run(Command c, String what) throws MultipathException {
    try {
      return runner.run(c);
    } catch (CommandException e) {
      throw new MultipathException(what + " failed: " + e.getMessage()
          + (e.timedOut() ? " (is multipathd running?)" : ""), e);
    }
  }

  private static MultipathException failure(Command c, CommandResult r, String what) {
    return new MultipathException(what + " failed: " + CommandRunner.failure(c, r).getMessage(),
        null);
  }
}
