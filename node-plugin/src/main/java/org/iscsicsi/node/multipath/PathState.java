package org.iscsicsi.node.multipath;

/**
 * One path of a dm-multipath map as multipathd reports it ({@code show paths}).
 *
 * @param device the path's disk (sdX)
 * @param dmState the kernel's view of the path in the map: {@code active} or {@code failed}
 * @param checkerState the path checker's last verdict: {@code ready}, {@code ghost} (an ALUA
 *     standby port: usable only when nothing better is), {@code faulty}, {@code shaky}, ...
 */
public record PathState(String device, String dmState, String checkerState) {

  /** Whether I/O can complete on this path now (an active/optimized or non-optimized port). */
  public boolean usable() {
    return "active".equals(dmState) && "ready".equals(checkerState);
  }

  @Override
  public String toString() {
    return device + " " + dmState + "/" + checkerState;
  }
}
