package org.iscsicsi.node.iscsi;

import java.util.List;
import java.util.Objects;
import org.iscsicsi.csi.exec.Args;

/**
 * Where one volume lives: the target's IQN, the portals that serve it, and the LUN. The node logs
 * in through one portal, the first that serves the target, in the order given (multipath is out
 * of scope).
 */
public record IscsiTarget(String iqn, List<Portal> portals, int lun) {

  public IscsiTarget {
    Args.iscsiName("target IQN", iqn);
    portals = List.copyOf(Objects.requireNonNull(portals, "portals"));
    if (portals.isEmpty()) {
      throw new IllegalArgumentException("no portal given for target " + iqn);
    }
    if (lun < 0 || lun > 16383) {
      throw new IllegalArgumentException("LUN out of range: " + lun);
    }
  }

  /** The first portal. */
  public Portal portal() {
    return portals.getFirst();
  }
}
