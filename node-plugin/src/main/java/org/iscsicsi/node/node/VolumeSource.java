package org.iscsicsi.node.node;

import static org.iscsicsi.csi.contract.PublishContext.CHAP;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_CHAP;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_NONE;
import static org.iscsicsi.csi.contract.PublishContext.DISCOVERY_SENDTARGETS;
import static org.iscsicsi.csi.contract.PublishContext.LUN;
import static org.iscsicsi.csi.contract.PublishContext.NAA;
import static org.iscsicsi.csi.contract.PublishContext.PORTALS;
import static org.iscsicsi.csi.contract.PublishContext.SERIAL;
import static org.iscsicsi.csi.contract.PublishContext.TARGET_IQN;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.node.iscsi.IscsiTarget;
import org.iscsicsi.node.iscsi.Portal;

/**
 * Where a volume's disk comes from and how to recognise it, as the controller's
 * ControllerPublishVolume put it in {@code publish_context}. The keys are csi-common's
 * {@link PublishContext}, the same class the controller writes with; the serial and NAA identify
 * the disk before anything is written to it.
 */
public record VolumeSource(IscsiTarget target, boolean chap, boolean discoveryChap,
    boolean discovery, Optional<String> serial, Optional<String> naa) {

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
    return new VolumeSource(new IscsiTarget(iqn, portals, lun), flag(ctx, CHAP),
        flag(ctx, DISCOVERY_CHAP), discovery(ctx), optional(ctx, SERIAL), optional(ctx, NAA));
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
