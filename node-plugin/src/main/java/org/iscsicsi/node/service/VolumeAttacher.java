package org.iscsicsi.node.service;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Brings a volume's disk onto this host and takes it away again. The production implementation
 * is {@link IscsiAttacher} (open-iscsi); the node's staging and publishing logic depends only on
 * this interface, which lets its filesystem behaviour be tested on real loop devices on a host
 * whose kernel has no SCSI layer.
 */
public interface VolumeAttacher {

  /**
   * Connects (idempotently), waits for the disk, verifies it is the volume's, and returns its
   * device node. On failure nothing this call created is left behind.
   */
  Path attach(String volumeId, VolumeSource source, Map<String, String> secrets)
      throws CsiException;

  /**
   * Called by unstage before the staging unmount: whatever the unmount needs to be able to
   * finish (a multipath map without a usable path must stop queueing I/O). Nothing by default.
   */
  default void beforeUnmount(String volumeId, VolumeSource source) throws CsiException {}

  /** Disconnects; succeeds when already disconnected, even when the disk is long gone. */
  void detach(String volumeId, VolumeSource source) throws CsiException;

  /** The disk's device node if it is attached now. */
  Optional<Path> device(VolumeSource source);

  /** Empty when the connection is healthy, else what is wrong with it. */
  Optional<String> problem(VolumeSource source);

  /** Makes the kernel re-read the disk's capacity. */
  void rescan(VolumeSource source) throws CsiException;
}
