package org.iscsicsi.controller.service;

/**
 * What the controller keeps outside the engines: the per-volume CHAP Secrets, the Events on
 * PVCs and replicated volumes' memberships. {@link #NONE} without a Kubernetes API.
 */
public record ClusterObjects(ChapSecretStore chapSecrets, VolumeEvents events,
    Memberships memberships) {

  public static final ClusterObjects NONE =
      new ClusterObjects(ChapSecretStore.ENGINE_ONLY, VolumeEvents.NONE, Memberships.NONE);

  /** Without memberships: replicated volumes are refused. */
  public ClusterObjects(ChapSecretStore chapSecrets, VolumeEvents events) {
    this(chapSecrets, events, Memberships.NONE);
  }
}
