package org.iscsicsi.node.service;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * What NodeStageVolume recorded about a volume, so that NodeUnstageVolume (which gets only the
 * volume id and staging path) can still log out of the right target at the right portal.
 *
 * @param publishContext the controller's publish_context (never secrets)
 * @param block whether staged for raw block access
 * @param fsType the filesystem mounted at the staging path (empty for block)
 * @param readOnly whether the staging mount was asked to be read-only
 */
public record StagedVolume(String volumeId, Path stagingPath, Map<String, String> publishContext,
    boolean block, String fsType, boolean readOnly) {

  public StagedVolume {
    publishContext = Map.copyOf(publishContext);
  }

  public VolumeSource source() {
    return VolumeSource.fromPublishContext(publishContext);
  }

  public Optional<String> fs() {
    return fsType.isEmpty() ? Optional.empty() : Optional.of(fsType);
  }
}
