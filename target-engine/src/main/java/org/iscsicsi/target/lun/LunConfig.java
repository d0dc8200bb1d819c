package org.iscsicsi.target.lun;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * What defines a LUN's backing store and identity. Serial and NAA are chosen once, when the LUN is
 * created, and never change (the node plugin matches them before formatting a disk).
 *
 * @param sizeBytes a multiple of {@code blockSize}
 * @param blockSize the logical block length: 512, 1024, 2048 or 4096
 * @param thin sparse file (UNMAP punches holes) rather than preallocated
 * @param serial the unit serial number (VPD page 0x80): printable ASCII, 1 to 64 characters
 * @param naa the 16-byte NAA IEEE Registered Extended identifier (designator type 3, NAA 6)
 */
public record LunConfig(Path file, long sizeBytes, int blockSize, boolean thin, boolean readOnly,
    String serial, byte[] naa) {

  public LunConfig {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(serial, "serial");
    Objects.requireNonNull(naa, "naa");
    if (blockSize != 512 && blockSize != 1024 && blockSize != 2048 && blockSize != 4096) {
      throw new IllegalArgumentException("block size must be 512, 1024, 2048 or 4096: "
          + blockSize);
    }
    if (sizeBytes <= 0 || sizeBytes % blockSize != 0) {
      throw new IllegalArgumentException(
          "size must be a positive multiple of the block size " + blockSize + ": " + sizeBytes);
    }
    if (serial.isEmpty() || serial.length() > 64
        || !serial.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException("serial must be 1-64 printable ASCII characters");
    }
    if (naa.length != 16 || (naa[0] & 0xf0) != 0x60) {
      throw new IllegalArgumentException("naa must be a 16-byte NAA 6 identifier");
    }
    naa = naa.clone();
  }

  @Override
  public byte[] naa() {
    return naa.clone();
  }

  public LunConfig withSizeBytes(long newSizeBytes) {
    return new LunConfig(file, newSizeBytes, blockSize, thin, readOnly, serial, naa);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LunConfig c && file.equals(c.file) && sizeBytes == c.sizeBytes
        && blockSize == c.blockSize && thin == c.thin && readOnly == c.readOnly
        && serial.equals(c.serial) && Arrays.equals(naa, c.naa);
  }

  @Override
  public int hashCode() {
    return Objects.hash(file, sizeBytes, blockSize, thin, readOnly, serial, Arrays.hashCode(naa));
  }

  @Override
  public String toString() {
    return "LunConfig[file=" + file + ", sizeBytes=" + sizeBytes + ", blockSize=" + blockSize
        + ", thin=" + thin + ", readOnly=" + readOnly + ", serial=" + serial + "]";
  }
}
