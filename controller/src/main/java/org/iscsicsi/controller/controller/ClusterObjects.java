package org.iscsicsi.controller.controller;

/**
 * What the controller keeps outside the engines: the per-volume CHAP Secrets and the Events on
 * PVCs. {@link #NONE} without a Kubernetes API.
 */
public record ClusterObjects(ChapSecretStore chapSecrets, VolumeEvents events) {

  public static final ClusterObjects NONE =
      new ClusterObjects(ChapSecretStore.ENGINE_ONLY, VolumeEvents.NONE);
}
