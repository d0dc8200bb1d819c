package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.RegionHashes;
import org.iscsicsi.target.transfer.RegionMap;

/**
 * A rebuilt member's side of a rebuild (docs/replication.md section 10), on its replica stream:
 * REGION_HASHES lists (region, SHA-256) of the primary's copy and is answered with REGION_WANT,
 * the regions whose local bytes hash differently; REGION_DATA is written at its offset and
 * answered with the SHA-256 of the bytes read back, so the primary compares what landed with
 * what it sent. The replica session applies both only after every frame received before them,
 * so a region is compared and written after the writes the primary sent earlier.
 */
final class RebuildSink {

  private RebuildSink() {
  }

  /** The regions of {@code hashes} (a REGION_HASHES payload) whose local copy differs. */
  static byte[] want(LogicalUnit unit, byte[] hashes) throws IOException {
    if (hashes.length % Frame.HASH_ENTRY_BYTES != 0) {
      throw new IllegalArgumentException("REGION_HASHES of " + hashes.length + " bytes");
    }
    ByteBuffer in = ByteBuffer.wrap(hashes);
    List<Integer> wanted = new ArrayList<>();
    byte[] theirs = new byte[Frame.HASH_BYTES];
    while (in.hasRemaining()) {
      int region = in.getInt();
      in.get(theirs);
      if (!Arrays.equals(theirs, hash(unit, region))) {
        wanted.add(region);
      }
    }
    ByteBuffer out = ByteBuffer.allocate(wanted.size() * Integer.BYTES);
    wanted.forEach(out::putInt);
    return out.array();
  }

  /** Writes REGION_DATA at {@code offset}; returns the SHA-256 of the bytes read back. */
  static byte[] write(LogicalUnit unit, long offset, byte[] data) throws IOException {
    if (offset < 0 || offset % Frame.REGION_BYTES != 0
        || offset + data.length > unit.sizeBytes()) {
      throw new IllegalArgumentException("REGION_DATA of " + data.length + " bytes at "
          + offset + " is not a region of the LUN");
    }
    unit.write(offset, ByteBuffer.wrap(data), false);
    ByteBuffer back = ByteBuffer.allocate(data.length);
    unit.read(offset, back);
    return RegionHashes.of(back.flip());
  }

  /** SHA-256 of region {@code region} of {@code unit} as it reads now. */
  static byte[] hash(LogicalUnit unit, int region) throws IOException {
    if (region < 0 || region >= RegionMap.count(unit.sizeBytes())) {
      throw new IllegalArgumentException("region " + region + " is beyond the LUN");
    }
    ByteBuffer b = ByteBuffer.allocate(RegionMap.length(unit.sizeBytes(), region));
    unit.read((long) region * Frame.REGION_BYTES, b);
    return RegionHashes.of(b.flip());
  }
}
