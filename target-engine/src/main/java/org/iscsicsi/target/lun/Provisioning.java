package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Allocating and deallocating a LUN's bytes (SBC-3 4.7, logical block provisioning): a thick
 * unit is preallocated and zeroed in place on UNMAP, a thin one gives blocks back to the
 * filesystem by punching holes. Where {@code fallocate(2)} does not support a mode (tmpfs, say),
 * zeros are written instead.
 */
final class Provisioning {

  /** The largest buffer of zeros written at once where fallocate cannot zero. */
  private static final int ZEROS_CHUNK = 1 << 20;

  private Provisioning() {
  }

  /** Allocates {@code [offset, offset + length)} so that later writes cannot run out of space. */
  static void preallocate(NativeFile nf, FileChannel channel, long offset, long length)
      throws IOException {
    try {
      nf.fallocate(0, offset, length);
    } catch (NativeFile.NativeIoException e) {
      if (e.errno() != NativeFile.EOPNOTSUPP) {
        throw e;
      }
      writeZeros(channel, offset, length);
    }
  }

  /**
   * Deallocates a range: thin punches a hole (reads then return zeros and the filesystem gets the
   * blocks back); thick zeroes the range and keeps it allocated.
   */
  static void deallocate(NativeFile nf, FileChannel channel, boolean thin, long offset,
      long length) throws IOException {
    if (thin) {
      nf.fallocate(NativeFile.FALLOC_FL_PUNCH_HOLE | NativeFile.FALLOC_FL_KEEP_SIZE, offset,
          length);
    } else {
      zeroInPlace(nf, channel, offset, length);
    }
  }

  private static void zeroInPlace(NativeFile nf, FileChannel channel, long offset, long length)
      throws IOException {
    try {
      nf.fallocate(NativeFile.FALLOC_FL_ZERO_RANGE | NativeFile.FALLOC_FL_KEEP_SIZE, offset,
          length);
    } catch (NativeFile.NativeIoException e) {
      if (e.errno() != NativeFile.EOPNOTSUPP) {
        throw e;
      }
      writeZeros(channel, offset, length);
    }
  }

  private static void writeZeros(FileChannel channel, long offset, long length)
      throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, ZEROS_CHUNK));
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), end - pos));
      while (zeros.hasRemaining()) {
        pos += channel.write(zeros, pos);
      }
    }
  }
}
