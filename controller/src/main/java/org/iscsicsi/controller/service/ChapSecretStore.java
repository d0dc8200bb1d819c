package org.iscsicsi.controller.service;

import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.VolumeId;

/**
 * Where the CHAP credentials the controller generates for a volume are kept so that they reach
 * the node the volume is published to, and only that node: in Kubernetes a Secret per volume that
 * the StorageClass names as node-stage secret (kubelet reads it under the Node authorizer only
 * where a pod uses the volume). Without a Kubernetes API, {@link #ENGINE_ONLY}: the credentials
 * live only in the engine's state, and a node logs in only with credentials an operator supplies
 * through CSI secrets (which then replace the generated ones).
 */
public interface ChapSecretStore {

  /**
   * Keeps {@code fresh} for the volume unless credentials are kept for it already, and returns
   * what is kept, so that a retried CreateVolume sets the same credentials on the target.
   */
  ChapCredentials keep(String volumeName, VolumeId id, ChapCredentials fresh);

  /** Forgets the volume's credentials; nothing kept is no error. */
  void remove(String volumeName, VolumeId id);

  /** False when nothing reaches a node (credentials only in the engine). */
  boolean delivers();

  /** No store: generated credentials stay in the engine's state (a 0600 file). */
  ChapSecretStore ENGINE_ONLY = new ChapSecretStore() {
    @Override
    public ChapCredentials keep(String volumeName, VolumeId id, ChapCredentials fresh) {
      return fresh;
    }

    @Override
    public void remove(String volumeName, VolumeId id) {}

    @Override
    public boolean delivers() {
      return false;
    }
  };
}
