package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.csi.exec.ProcessCommandRunner;

/**
 * A stand-in for lvm where the kernel has no device-mapper (this host's): it answers the argv
 * {@code LvmCommands} builds with real loop devices, one per logical volume, each over a sparse
 * file, and {@code /dev/VG/LV} a symlink to it, so that the engine's LVM backends run their
 * whole flow (create, zero, write, snapshot, grow, delete, activate after a "reboot") on real
 * block devices. A thin volume is a sparse file, a thin snapshot a sparse copy of its origin's.
 * It is a mock of lvm only: what lvm itself does is pinned by LvmCommandsTest against the real
 * tool, and the data path on real LVM volumes by EngineLvmVmIT where device-mapper runs.
 */
final class LoopLvm implements CommandRunner, AutoCloseable {

  static final long EXTENT = 4L << 20;
  /** The first bytes of every new linear volume, as a deleted volume might have left them. */
  static final byte[] OLD_BLOCKS = "an earlier volume's data ".repeat(4096).getBytes();
  private static final Duration T = Duration.ofSeconds(30);
  private final ProcessCommandRunner real = new ProcessCommandRunner();
  private final Path images;
  private final String vg;
  private final long vgBytes;
  private final String pool;
  private final long poolBytes;
  /** Volume name to its size; the image is images/NAME.img, the device /dev/VG/NAME. */
  private final Map<String, Long> volumes = new LinkedHashMap<>();
  final List<List<String>> calls = new ArrayList<>();

  LoopLvm(Path images, String vg, long vgBytes, String pool, long poolBytes) throws IOException {
    this.images = Files.createDirectories(images);
    this.vg = vg;
    this.vgBytes = vgBytes;
    this.pool = pool;
    this.poolBytes = poolBytes;
    Files.createDirectories(Path.of("/dev", vg));
  }

  @Override
  public synchronized CommandResult run(Command c) throws CommandException {
    List<String> a = c.argv();
    calls.add(a);
    try {
      return switch (a.get(1)) {
        case "lvcreate" -> create(a);
        case "lvextend" -> extend(a);
        case "lvremove" -> remove(volume(a.getLast()));
        case "lvchange" -> activate(volume(a.getLast()));
        case "vgs" -> ok(vgsJson());
        case "lvs" -> ok(lvsJson());
        default -> new CommandResult(3, "", "LoopLvm: no " + a.get(1));
      };
    } catch (IOException e) {
      return new CommandResult(5, "", "LoopLvm: " + e.getMessage());
    }
  }

  private CommandResult create(List<String> a) throws IOException, CommandException {
    String name = after(a, "--name");
    if (volumes.containsKey(name)) {
      return new CommandResult(5, "", "  Logical Volume \"" + name + "\" already exists");
    }
    if (a.contains("--snapshot")) {
      String origin = volume(a.getLast());
      long size = volumes.get(origin);
      real.check(Command.of(T, "cp", "--sparse=always", image(origin).toString(),
          image(name).toString()));
      return attach(name, size);
    }
    long size = roundUp(bytes(after(a, a.contains("--virtualsize") ? "--virtualsize" : "--size")));
    try (FileChannel ch = FileChannel.open(image(name), StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      if (pool == null) {
        // a linear volume gets whatever the extents held before: what a deleted LV left there
        ch.write(java.nio.ByteBuffer.wrap(OLD_BLOCKS), 0);
      }
      ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
    }
    return attach(name, size);
  }

  private CommandResult attach(String name, long size) throws IOException, CommandException {
    String dev = real.check(Command.of(T, "losetup", "--find", "--show", image(name).toString()))
        .stdout().strip();
    Files.deleteIfExists(device(name));
    Files.createSymbolicLink(device(name), Path.of(dev));
    volumes.put(name, size);
    return ok("");
  }

  private CommandResult extend(List<String> a) throws IOException, CommandException {
    String name = volume(a.getLast());
    long size = roundUp(bytes(after(a, "--size")));
    try (FileChannel ch = FileChannel.open(image(name), StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
    }
    real.check(Command.of(T, "losetup", "--set-capacity", loopOf(name)));
    volumes.put(name, size);
    return ok("");
  }

  private CommandResult remove(String name) throws IOException, CommandException {
    if (!volumes.containsKey(name)) {
      return new CommandResult(5, "", "  Failed to find logical volume \"" + vg + "/" + name
          + "\"");
    }
    detach(name);
    Files.deleteIfExists(image(name));
    volumes.remove(name);
    return ok("");
  }

  /** What a reboot does to every volume: the devices are gone until activated. */
  synchronized void deactivateAll() throws IOException, CommandException {
    for (String name : volumes.keySet()) {
      detach(name);
    }
  }

  private CommandResult activate(String name) throws IOException, CommandException {
    if (!Files.exists(device(name))) {
      attach(name, volumes.get(name));
    }
    return ok("");
  }

  private void detach(String name) throws IOException, CommandException {
    if (Files.exists(device(name))) {
      real.check(Command.of(T, "losetup", "--detach", loopOf(name)));
    }
    Files.deleteIfExists(device(name));
  }

  private String loopOf(String name) throws IOException {
    return Files.readSymbolicLink(device(name)).toString();
  }

  private String vgsJson() {
    long used = volumes.values().stream().mapToLong(Long::longValue).sum();
    long free = pool == null ? vgBytes - used : vgBytes - poolBytes;
    return "{\"report\": [{\"vg\": [{\"vg_name\":\"" + vg + "\", \"vg_size\":\"" + vgBytes
        + "\", \"vg_free\":\"" + free + "\", \"vg_extent_size\":\"" + EXTENT + "\"}]}]}";
  }

  private String lvsJson() throws IOException {
    StringBuilder rows = new StringBuilder();
    long poolUsed = 0;
    for (var v : volumes.entrySet()) {
      long taken = allocated(v.getKey());
      poolUsed += taken;
      String pct = pool == null ? "" : String.format("%.2f", 100.0 * taken / v.getValue());
      rows.append(rows.isEmpty() ? "" : ", ").append("{\"lv_name\":\"").append(v.getKey())
          .append("\", \"vg_name\":\"").append(vg).append("\", \"lv_size\":\"")
          .append(v.getValue()).append("\", \"lv_attr\":\"").append(pool == null ? "-wi-a-----"
              : "Vwi-a-tz--").append("\", \"pool_lv\":\"").append(pool == null ? "" : pool)
          .append("\", \"data_percent\":\"").append(pct).append("\", \"lv_path\":\"")
          .append(device(v.getKey())).append("\"}");
    }
    if (pool != null) {
      rows.append(rows.isEmpty() ? "" : ", ").append("{\"lv_name\":\"").append(pool)
          .append("\", \"vg_name\":\"").append(vg).append("\", \"lv_size\":\"").append(poolBytes)
          .append("\", \"lv_attr\":\"twi-aotz--\", \"pool_lv\":\"\", \"data_percent\":\"")
          .append(String.format("%.2f", 100.0 * poolUsed / poolBytes))
          .append("\", \"lv_path\":\"\"}");
    }
    return "{\"report\": [{\"lv\": [" + rows + "]}]}";
  }

  private long allocated(String name) throws IOException {
    return ((Number) Files.getAttribute(image(name), "unix:size")).longValue() == 0 ? 0
        : blocks(image(name));
  }

  private static long blocks(Path p) throws IOException {
    // st_blocks is not among Java's attributes; du(1) reads it
    try {
      String out = new ProcessCommandRunner().check(Command.of(T, "du", "--block-size=1",
          p.toString())).stdout();
      return Long.parseLong(out.split("\\s+")[0]);
    } catch (CommandException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private String volume(String vgSlashLv) {
    return vgSlashLv.substring(vgSlashLv.indexOf('/') + 1);
  }

  Path device(String name) {
    return Path.of("/dev", vg, name);
  }

  private Path image(String name) {
    return images.resolve(name + ".img");
  }

  private static String after(List<String> a, String option) {
    return a.get(a.indexOf(option) + 1);
  }

  private static long bytes(String n) {
    return Long.parseLong(n.substring(0, n.length() - 1)); // LvmCommands writes <n>b
  }

  private static long roundUp(long n) {
    return (n + EXTENT - 1) / EXTENT * EXTENT;
  }

  private static CommandResult ok(String out) {
    return new CommandResult(0, out, "");
  }

  @Override
  public synchronized void close() throws IOException, CommandException {
    deactivateAll();
    Files.deleteIfExists(Path.of("/dev", vg));
  }
}
