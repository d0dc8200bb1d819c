package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.state.LunRecord;

/**
 * LUNs as files in the pool directory, snapshots as files in the snapshot directory: sparse or
 * preallocated, copied with holes kept ({@link LunFiles}, {@link SparseCopy}). It owns every path
 * no other backend owns, so LUNs recorded before there were backends stay its.
 */
final class FileBackend implements Backend {

  static final String TYPE = "fileio";

  private final String name;
  private final LunFiles files;

  FileBackend(String name, LunFiles files) {
    this.name = name;
    this.files = files;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public boolean owns(Path path) {
    return path.startsWith(files.lunDir()) || path.startsWith(files.snapshotDir());
  }

  @Override
  public void requireSupported(boolean thin) {
    // sparse and preallocated files both
  }

  @Override
  public Path lunPath(String naa) {
    return files.lunFile(naa);
  }

  @Override
  public Path snapshotPath(String id) {
    return files.snapshotFile(id);
  }

  @Override
  public LogicalUnit createEmpty(LunRecord rec) throws IOException {
    return LogicalUnit.create(rec.toConfig());
  }

  @Override
  public void grow(LunRecord rec, long newSize) {
    // the LogicalUnit grows its file itself
  }

  @Override
  public long snapshotHeld(LogicalUnit unit, Path lun, Path snapshot) throws IOException {
    long size = unit.sizeBytes();
    files.copyWhileHeld(lun, snapshot);
    return size;
  }

  @Override
  public void prepare(Path path) {
    // files need nothing before they are opened
  }

  @Override
  public void delete(Path path) {
    LunFiles.delete(path);
  }

  @Override
  public long allocated(Map<Path, Long> sizes) {
    long sum = 0;
    for (Path p : sizes.keySet()) {
      sum += PoolAccounting.allocated(p);
    }
    return sum;
  }

  @Override
  public Space space() throws IOException {
    FileStore fs = Files.getFileStore(files.lunDir());
    return new Space(fs.getTotalSpace(), fs.getUsableSpace());
  }
}
