package org.iscsicsi.target.lvm;

/** One row of {@code vgs}: a volume group's size, free bytes and extent size. */
public record VolumeGroup(String name, long sizeBytes, long freeBytes, long extentBytes) {
}
