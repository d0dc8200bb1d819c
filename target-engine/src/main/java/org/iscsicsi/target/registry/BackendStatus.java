package org.iscsicsi.target.registry;

/**
 * One backend's space and use: total and free bytes, the sum of its LUNs' sizes (provisioned)
 * and the bytes they take (allocated).
 */
public record BackendStatus(String name, String type, long totalBytes, long availableBytes,
    long provisionedBytes, long allocatedBytes) {
}
