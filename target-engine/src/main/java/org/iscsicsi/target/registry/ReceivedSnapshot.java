package org.iscsicsi.target.registry;

import java.nio.file.Path;
import java.util.Map;

/**
 * A snapshot image received with a moved target, staged and synced, to be adopted under its id.
 *
 * @param image the staged file, on the snapshot directory's filesystem
 */
public record ReceivedSnapshot(String id, Path image, long sizeBytes, int blockSize,
    long createdUnixNanos, Map<String, String> labels) {
}
