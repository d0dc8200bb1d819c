package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * A block device node (a disk, a partition, an LVM volume): its size is the device's
 * ({@code BLKGETSIZE64}, which {@link FileChannel#size} asks for a block device), the LUN uses
 * its first {@code sizeBytes}, and it grows only after whoever owns the device grew it
 * ({@code lvextend}). Where the bytes are allocated (a thin pool's chunks) is the device's own
 * business: to the initiator every block is mapped.
 */
final class DeviceMedium implements UnitMedium {

  static final DeviceMedium INSTANCE = new DeviceMedium();

  private DeviceMedium() {
  }

  @Override
  public long sizeAtOpen(LunConfig config, FileChannel channel, NativeFile nativeFile)
      throws IOException {
    long device = channel.size();
    if (device < config.sizeBytes()) {
      throw new IOException("block device " + config.file() + " has " + device
          + " bytes, fewer than the LUN's " + config.sizeBytes());
    }
    return config.sizeBytes();
  }

  @Override
  public void grow(LunConfig config, FileChannel channel, NativeFile nativeFile, long oldSize,
      long newSize) throws IOException {
    long device = channel.size();
    if (device < newSize) {
      throw new IOException("block device " + config.file() + " has " + device
          + " bytes; grow the device to " + newSize + " before the LUN");
    }
  }

  @Override
  public boolean findsHoles() {
    return false;
  }

  @Override
  public long allocatedBytes(NativeFile nativeFile, long sizeBytes) {
    return sizeBytes;
  }
}
