package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.iscsicsi.target.v1.SetLunReplicationRequest;

/**
 * What an engine keeps on disk to reopen its replicated LUNs after a restart: per volume the
 * request that made the LUN replicated ({@code <volume>.replica}, written to a temporary file,
 * {@code fdatasync}ed and renamed over the old one) beside the LUN's metadata file, whose
 * superblock holds the accepted epoch.
 */
final class ReplicatedLunRecords {

  static final String SUFFIX = ".replica";
  /** A Kubernetes object name (DNS subdomain): also safe as a file name. */
  private static final Pattern VOLUME = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final int MAX_VOLUME = 253;

  private final Path dir;

  ReplicatedLunRecords(Path dir) {
    this.dir = dir;
  }

  Path dir() {
    return dir;
  }

  /** Whether {@code volume} can name an IscsiVolume (and so a file here). */
  static boolean validVolume(String volume) {
    return volume.length() <= MAX_VOLUME && VOLUME.matcher(volume).matches();
  }

  void save(SetLunReplicationRequest r) throws IOException {
    Files.createDirectories(dir);
    Path tmp = dir.resolve(r.getVolume() + SUFFIX + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(r.toByteArray()));
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(r.getVolume() + SUFFIX), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  /** Every saved request; an unreadable one fails the load (the engine does not start). */
  List<SetLunReplicationRequest> load() throws IOException {
    List<SetLunReplicationRequest> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().endsWith(SUFFIX)).sorted()
          .toList()) {
        try {
          out.add(SetLunReplicationRequest.parseFrom(Files.readAllBytes(p)));
        } catch (IOException e) {
          // without the record the engine cannot tell which LUN it held back, and that LUN's
          // saved ALUA states may say active/optimized: refuse to start rather than serve it
          throw new IOException("replicated LUN record " + p + " is unreadable (" + e
              + "); the engine does not start with it, since its LUN could serve without "
              + "its replicas: restore it, or remove it and the LUN's target", e);
        }
      }
    }
    return out;
  }
}
