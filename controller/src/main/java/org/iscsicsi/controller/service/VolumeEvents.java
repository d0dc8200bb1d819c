package org.iscsicsi.controller.service;

/**
 * Warnings about a volume that its owner should see where they look: a Kubernetes Event on the
 * PVC ({@code kubectl describe pvc}). Recording never fails the call that records.
 */
public interface VolumeEvents {

  /** Reason of the Event on a PVC whose volume has CHAP off. */
  String CHAP_DISABLED = "ChapDisabled";

  /** Reason of the Event on a PVC whose volume's engine became unreachable (pool mode). */
  String ENGINE_UNREACHABLE = "VolumeEngineUnreachable";

  /** Reason of the Event on a PVC whose volume moved to another engine (a drain). */
  String MOVED = "VolumeMoved";

  /** Reason of the Warning on a PVC whose volume could not be moved off a draining engine. */
  String MOVE_FAILED = "VolumeMoveFailed";

  /** Records a Warning on the PVC {@code namespace/name}. */
  void warn(String namespace, String name, String reason, String message);

  /** Records a Normal event on the PVC {@code namespace/name}. */
  void note(String namespace, String name, String reason, String message);

  /** No event sink (no Kubernetes API): the controller's log has the warning. */
  VolumeEvents NONE = new VolumeEvents() {
    @Override
    public void warn(String namespace, String name, String reason, String message) {
    }

    @Override
    public void note(String namespace, String name, String reason, String message) {
    }
  };
}
