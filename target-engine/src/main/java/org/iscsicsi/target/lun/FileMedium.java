package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.channels.FileChannel;

/** A LUN file: sparse (thin) or preallocated, grown by truncate and, when thick, fallocate. */
final class FileMedium implements UnitMedium {

  static final FileMedium INSTANCE = new FileMedium();

  private FileMedium() {
  }

  @Override
  public long sizeAtOpen(LunConfig config, FileChannel channel, NativeFile nativeFile)
      throws IOException {
    long fileSize = channel.size();
    long size = Math.max(config.sizeBytes(), fileSize - fileSize % config.blockSize());
    if (fileSize < size && !config.readOnly()) {
      nativeFile.truncate(size); // an externally shortened file: restore the LUN's recorded size
    }
    return size;
  }

  @Override
  public void grow(LunConfig config, FileChannel channel, NativeFile nativeFile, long oldSize,
      long newSize) throws IOException {
    try {
      nativeFile.truncate(newSize);
      if (!config.thin()) {
        Provisioning.preallocate(nativeFile, channel, oldSize, newSize - oldSize);
      }
      channel.force(true);
    } catch (IOException e) {
      try {
        nativeFile.truncate(oldSize);
      } catch (IOException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    }
  }

  @Override
  public boolean findsHoles() {
    return true;
  }

  @Override
  public long allocatedBytes(NativeFile nativeFile, long sizeBytes) throws IOException {
    return nativeFile.allocatedBytes();
  }
}
