package org.iscsicsi.target.transfer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.lun.ImageFile;

/**
 * The regions of an image that hold data (found with SEEK_DATA/SEEK_HOLE): the ones a transfer
 * lists. A region entirely in a hole is left out; the destination's new image reads zeros there.
 *
 * @param regions region numbers with data, ascending
 */
public record RegionMap(long sizeBytes, List<Integer> regions) {

  public RegionMap {
    regions = List.copyOf(regions);
  }

  public static RegionMap of(ImageFile image, long sizeBytes) throws IOException {
    List<Integer> data = new ArrayList<>();
    int count = count(sizeBytes);
    for (int r = 0; r < count; r++) {
      long offset = (long) r * Frame.REGION_BYTES;
      if (image.hasData(offset, length(sizeBytes, r))) {
        data.add(r);
      }
    }
    return new RegionMap(sizeBytes, data);
  }

  /** How many regions an image of {@code sizeBytes} has (the last one may be shorter). */
  public static int count(long sizeBytes) {
    long n = (sizeBytes + Frame.REGION_BYTES - 1) / Frame.REGION_BYTES;
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("image of " + sizeBytes + " bytes has too many regions");
    }
    return (int) n;
  }

  /** The length of region {@code r} of an image of {@code sizeBytes}. */
  public static int length(long sizeBytes, int r) {
    long offset = (long) r * Frame.REGION_BYTES;
    return (int) Math.min(Frame.REGION_BYTES, sizeBytes - offset);
  }

  /** Bytes of the listed regions: what the transfer sends at most. */
  public long dataBytes() {
    long n = 0;
    for (int r : regions) {
      n += length(sizeBytes, r);
    }
    return n;
  }
}
