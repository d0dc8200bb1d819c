package org.iscsicsi.controller.volume;

/**
 * Keys of the {@code publish_context} ControllerPublishVolume returns and the node plugin reads
 * in NodeStageVolume (CSI spec, ControllerPublishVolume: "publish_context ... opaque to the CO").
 * No secret ever goes here: CHAP credentials reach the node through node-stage secrets.
 */
public final class PublishContext {

  /** The volume's target IQN. */
  public static final String TARGET_IQN = "targetIqn";
  /** Comma-separated portals, {@code host:port} (IPv6 hosts in brackets). */
  public static final String PORTALS = "portals";
  /** The LUN number, always "0". */
  public static final String LUN = "lun";
  /** "true" when the target requires CHAP (mutual CHAP when the secrets carry username_in). */
  public static final String CHAP = "chap";
  /** "true": SendTargets discovery authenticates with the same CHAP credentials. */
  public static final String DISCOVERY_CHAP = "discoveryChap";
  /** "sendtargets" (the default) or "none": the node logs in without discovery. */
  public static final String DISCOVERY = "discovery";
  /** "true" when the initiator was granted read-only access. */
  public static final String READ_ONLY = "readOnly";
  /** LUN 0's unit serial number (SPC-4 VPD page 0x80): the node checks the disk it found. */
  public static final String SERIAL = "serial";
  /** LUN 0's NAA designator, 32 hex digits (SPC-4 VPD page 0x83). */
  public static final String NAA = "naa";
  /** Also in volume_context: the filesystem to make and mount ("" for the node's default). */
  public static final String FS_TYPE = "fsType";

  private PublishContext() {}
}
