package org.iscsicsi.node.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Read access to /sys and /dev, rooted at configurable directories so a plugin in a container can
 * point at the host's and a test can use a prepared tree.
 */
public record Sysfs(Path sysRoot, Path devRoot) {

  public static Sysfs host() {
    return new Sysfs(Path.of("/sys"), Path.of("/dev"));
  }

  /** /sys/block/NAME. */
  public Path block(String name) {
    return sysRoot.resolve("block").resolve(name);
  }

  /** The whole file as trimmed text, or empty when it does not exist or cannot be read. */
  public static Optional<String> text(Path file) {
    try {
      return Optional.of(Files.readString(file, StandardCharsets.ISO_8859_1).strip());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The whole file as bytes, or empty when it does not exist or cannot be read. */
  public static Optional<byte[]> bytes(Path file) {
    try {
      return Optional.of(Files.readAllBytes(file));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Size of block device NAME in bytes (sysfs counts 512-byte sectors whatever the LBA size). */
  public long sizeBytes(String name) {
    return text(block(name).resolve("size")).map(s -> Long.parseLong(s) * 512L).orElse(-1L);
  }

  /** MAJOR:MINOR of block device NAME. */
  public Optional<String> majorMinor(String name) {
    return text(block(name).resolve("dev"));
  }

  /** Whether something (device-mapper, md) holds the device. */
  public java.util.List<String> holders(String name) {
    try (var s = Files.list(block(name).resolve("holders"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return java.util.List.of();
    }
  }

  /**
   * Whether the kernel holds block device NAME read-only: for a SCSI disk, the target reported
   * write protect (the WP bit of the MODE SENSE header, SBC-3 6.5.1).
   */
  public boolean readOnly(String name) {
    return text(block(name).resolve("ro")).map(String::strip).filter("1"::equals).isPresent();
  }

  /** Whether /sys/block/NAME exists, i.e. the kernel still has the disk. */
  public boolean exists(String name) {
    return Files.isDirectory(block(name));
  }

  /** The devices a device-mapper device NAME is built on (/sys/block/NAME/slaves). */
  public java.util.List<String> slaves(String name) {
    try (var s = Files.list(block(name).resolve("slaves"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return java.util.List.of();
    }
  }

  /** The device-mapper device (dm-N) whose /sys/block/dm-N/dm/uuid is {@code uuid}. */
  public Optional<String> deviceMapperByUuid(String uuid) {
    try (var s = Files.list(sysRoot.resolve("block"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("dm-")).sorted()
          .filter(n -> text(block(n).resolve("dm/uuid")).filter(uuid::equals).isPresent())
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
