package org.iscsicsi.node.service;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.iscsicsi.node.fs.MountEntry;
import org.iscsicsi.node.fs.MountTable;

/** The mount table as the node service needs it: what is mounted at a path, re-read each time. */
public final class Mounts {

  private final Path mountinfo;

  public Mounts(Path mountinfo) {
    this.mountinfo = mountinfo;
  }

  public MountTable table() throws CsiException {
    try {
      return MountTable.read(mountinfo);
    } catch (IOException e) {
      throw new CsiException(Status.Code.INTERNAL, "cannot read " + mountinfo + ": " + e, e);
    }
  }

  public Optional<MountEntry> at(Path p) throws CsiException {
    return table().at(p);
  }
}
