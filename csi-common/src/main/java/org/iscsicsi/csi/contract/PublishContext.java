package org.iscsicsi.csi.contract;

/**
 * Keys of the {@code publish_context} the controller's ControllerPublishVolume returns and the
 * node plugin's NodeStageVolume reads (CSI spec, ControllerPublishVolume: "publish_context ...
 * opaque to the CO"): the one definition both sides compile against. No secret ever goes here:
 * CHAP credentials reach the node through node-stage secrets ({@link ChapSecret}).
 */
public final class PublishContext {

  /** The volume's target IQN. */
  public static final String TARGET_IQN = "targetIqn";
  /** Comma-separated portals, {@code host:port} (IPv6 hosts in brackets), tried in order. */
  public static final String PORTALS = "portals";
  /** The LUN number ("0" for the driver's own volumes). */
  public static final String LUN = "lun";
  /** "true" when the target requires CHAP (mutual CHAP when the secrets carry username_in). */
  public static final String CHAP = "chap";
  /** "true": SendTargets discovery authenticates with the same CHAP credentials. */
  public static final String DISCOVERY_CHAP = "discoveryChap";
  /** {@link #DISCOVERY_SENDTARGETS} (the default) or {@link #DISCOVERY_NONE}. */
  public static final String DISCOVERY = "discovery";
  /** Discover the target through SendTargets on the portal before logging in. */
  public static final String DISCOVERY_SENDTARGETS = "sendtargets";
  /** Log in without discovery, for arrays that refuse SendTargets. */
  public static final String DISCOVERY_NONE = "none";
  /** "true" when the initiator was granted read-only access. */
  public static final String READ_ONLY = "readOnly";
  /** LUN's unit serial number (SPC-4 VPD page 0x80): the node checks the disk it found. */
  public static final String SERIAL = "serial";
  /** LUN's NAA designator, hex with or without "naa." (SPC-4 VPD page 0x83). */
  public static final String NAA = "naa";
  /**
   * "true" for a replicated volume: every portal in {@link #PORTALS} (one per member, in slot
   * order) is a path to the same LU (same {@link #TARGET_IQN}, {@link #NAA} and {@link #SERIAL});
   * the node logs in to all of them and stages the dm-multipath map, not a single disk.
   */
  public static final String MULTIPATH = "multipath";
  /** With {@link #MULTIPATH}: the map's WWID, {@code 3<naa>} in lower-case hex. */
  public static final String WWID = "wwid";
  /** Also in volume_context: the filesystem to make and mount ("" for the node's default). */
  public static final String FS_TYPE = "fsType";

  private PublishContext() {}
}
