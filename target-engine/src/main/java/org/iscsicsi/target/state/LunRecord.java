package org.iscsicsi.target.state;

import java.nio.file.Path;
import java.util.HexFormat;
import org.iscsicsi.target.lun.LunConfig;

/**
 * The persisted definition of one LUN. Serial and NAA are chosen at creation and never change.
 *
 * @param file absolute path of the backing file
 * @param naa 32 hex digits of the NAA IEEE Registered Extended designator
 */
public record LunRecord(int lun, String file, long sizeBytes, int blockSize, boolean thin,
    boolean readOnly, String serial, String naa) {

  public LunConfig toConfig() {
    return new LunConfig(Path.of(file), sizeBytes, blockSize, thin, readOnly, serial,
        HexFormat.of().parseHex(naa));
  }

  public LunRecord withSize(long newSize) {
    return new LunRecord(lun, file, newSize, blockSize, thin, readOnly, serial, naa);
  }
}
