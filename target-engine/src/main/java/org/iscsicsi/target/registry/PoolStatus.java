package org.iscsicsi.target.registry;

/** Space of the filesystem holding LUN files, and what the LUNs promise and use of it. */
public record PoolStatus(long availableBytes, long totalBytes, long provisionedBytes,
    long allocatedBytes) {
}
