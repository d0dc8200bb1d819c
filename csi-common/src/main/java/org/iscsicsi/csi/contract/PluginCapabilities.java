package org.iscsicsi.csi.contract;

import csi.v1.Csi;

/**
 * The driver's plugin capabilities, one set for every instance. The CSI spec
 * (GetPluginCapabilities) requires every instance of one version to report the same set
 * "regardless of which RPCs an instance is serving", so the node plugin reports the controller's
 * services too; COs and csi-sanity decide from any instance, for instance, whether
 * ControllerPublishVolume precedes NodeStageVolume and whether the group snapshot specs apply.
 */
public final class PluginCapabilities {

  /** Controller, GroupController, SnapshotMetadata, topology, online expansion. */
  public static final Csi.GetPluginCapabilitiesResponse ALL =
      Csi.GetPluginCapabilitiesResponse.newBuilder()
          .addCapabilities(service(Csi.PluginCapability.Service.Type.CONTROLLER_SERVICE))
          .addCapabilities(service(Csi.PluginCapability.Service.Type.GROUP_CONTROLLER_SERVICE))
          .addCapabilities(service(Csi.PluginCapability.Service.Type.SNAPSHOT_METADATA_SERVICE))
          .addCapabilities(
              service(Csi.PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS))
          .addCapabilities(Csi.PluginCapability.newBuilder().setVolumeExpansion(
              Csi.PluginCapability.VolumeExpansion.newBuilder()
                  .setType(Csi.PluginCapability.VolumeExpansion.Type.ONLINE)))
          .build();

  private PluginCapabilities() {}

  private static Csi.PluginCapability service(Csi.PluginCapability.Service.Type type) {
    return Csi.PluginCapability.newBuilder()
        .setService(Csi.PluginCapability.Service.newBuilder().setType(type)).build();
  }
}
