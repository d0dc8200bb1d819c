package org.iscsicsi.node.service;

import static org.iscsicsi.csi.contract.PublishContext.CHAP;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_CHAP;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_NONE;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_SENDTARGETS;
import static org.iscsicsi.csi.contract.PublishContext.LUN;
import static org.iscsicsi.csi.contract.PublishContext.MULTIPATH;
import static org.iscsicsi.csi.contract.PublishContext.NAA;
import static org.iscsicsi.csi.contract.PublishContext.PORTALS;
import static org.iscsicsi.csi.contract.PublishContext.SERIAL;
import static org.iscsicsi.csi.contract.PublishContext.TARGET_IQN;
import static org.iscsicsi.csi.contract.PublishContext.WWID;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.node.iscsi.IscsiTarget;
import org.iscsicsi.node.iscsi.Portal;
import org.iscsicsi.node.multipath.Multipath;

/**
 * Where a volume's disk comes from and how to recognise it, as the controller's
 * ControllerPublishVolume put it in {@code publish_context}. The keys are csi-common's
 * {@link PublishContext}, the same class the controller writes with; the serial and NAA identify
 * the disk before anything is written to it. A replicated volume ({@code multipath: "true"})
 * carries its map's WWID, {@code 3<naa>}; every portal is then a path to the same LU.
 */
public record VolumeSource(IscsiTarget target, boolean chap, boolean discoveryChap,
    boolean discovery, Optional<String> serial, Optional<String> naa, Optional<String> wwid) {

  /** A single-path volume. */
  public VolumeSource(IscsiTarget target, boolean chap, boolean discoveryChap, boolean discovery,
      Optional<String> serial, Optional<String> naa) {
    this(target, chap, discoveryChap, discovery, serial, naa, Optional.empty());
  }

  /** Whether the volume is staged as a dm-multipath map over all its portals. */
  public boolean multipath() {
    return wwid.isPresent();
  }

  /** Reads publish_context; a missing or malformed key is an IllegalArgumentException. */
  public static VolumeSource fromPublishContext(Map<String, String> ctx) {
    String iqn = required(ctx, TARGET_IQN);
    String portalList = required(ctx, PORTALS);
    List<Portal> portals = new ArrayList<>();
    for (String p : portalList.split(",")) {
      if (!p.isBlank()) {
        portals.add(Portal.parse(p));
      }
    }
    int lun;
    try {
      lun = Integer.parseInt(ctx.getOrDefault(LUN, "0").strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("publish_context '" + LUN + "' is not a number: '"
          + ctx.get(LUN) + "'");
    }
    Optional<String> naa = optional(ctx, NAA);
    return new VolumeSource(new IscsiTarget(iqn, portals, lun), flag(ctx, CHAP),
        flag(ctx, DISCOVERY_CHAP), discovery(ctx), optional(ctx, SERIAL), naa,
        flag(ctx, MULTIPATH) ? Optional.of(wwid(ctx, naa)) : Optional.empty());
  }

  /** The map's WWID: well-formed, and {@code 3<naa>} when the NAA is given too. */
  private static String wwid(Map<String, String> ctx, Optional<String> naa) {
    String w = required(ctx, WWID);
    try {
      Multipath.wwid(w);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("publish_context '" + WWID + "': " + e.getMessage());
    }
    String n = naa.map(v -> v.toLowerCase(java.util.Locale.ROOT)).map(v -> v.startsWith("naa.")
        ? v.substring(4) : v).orElse(w.substring(1));
    if (!w.equals("3" + n)) {
      throw new IllegalArgumentException("publish_context '" + WWID + "' " + w + " is not 3 + '"
          + NAA + "' (" + n + ")");
    }
    return w;
  }

  private static boolean discovery(Map<String, String> ctx) {
    String v = ctx.getOrDefault(DISCOVERY, DISCOVERY_SENDTARGETS).strip();
    return switch (v) {
      case DISCOVERY_SENDTARGETS -> true;
      case DISCOVERY_NONE -> false;
      default -> throw new IllegalArgumentException("publish_context '" + DISCOVERY + "' must be \""
          + DISCOVERY_SENDTARGETS + "\" or \"" + DISCOVERY_NONE + "\", not '" + v + "'");
    };
  }

  private static boolean flag(Map<String, String> ctx, String key) {
    String v = ctx.getOrDefault(key, "false").strip();
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException("publish_context '" + key
          + "' must be \"true\" or \"false\", not '" + v + "'");
    }
    return v.equals("true");
  }

  private static String required(Map<String, String> ctx, String key) {
    String v = ctx.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("publish_context lacks '" + key + "' (was the volume"
          + " published by this driver's controller?)");
    }
    return v.strip();
  }

  private static Optional<String> optional(Map<String, String> ctx, String key) {
    return Optional.ofNullable(ctx.get(key)).map(String::strip).filter(s -> !s.isEmpty());
  }
}
