package org.iscsicsi.target.lun;

import java.nio.file.Path;

/**
 * What defines a LUN's backing store and identity. Serial and NAA are chosen once, when the LUN is
 * created, and never change (the node plugin matches them before formatting a disk).
 *
 * @param naa the 16-byte NAA IEEE Registered Extended identifier (designator type 3, NAA 6)
 */
public record LunConfig(Path file, long sizeBytes, int blockSize, boolean thin, boolean readOnly,
    String serial, byte[] naa) {
}
