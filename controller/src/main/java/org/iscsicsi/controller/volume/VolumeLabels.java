package org.iscsicsi.controller.volume;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where the CSI metadata of a volume lives: in its target's labels (target.v1
 * {@code Target.labels}), so the engine's state is the only source of truth and a controller
 * restart loses nothing. Snapshots carry the same kind of labels.
 */
public final class VolumeLabels {

  public static final String PREFIX = "csi.iscsicsi.org/";
  /** The driver that owns the target; ListTargets selects on it. */
  public static final String MANAGED_BY = PREFIX + "managed-by";
  /** The CSI name the volume or snapshot was created with. */
  public static final String NAME = PREFIX + "name";
  /** "snapshot:&lt;id&gt;", "volume:&lt;id&gt;" or absent. */
  public static final String SOURCE = PREFIX + "source";
  /** The volume's access types as requested at creation: "mount", "block" or "block,mount". */
  public static final String ACCESS_TYPES = PREFIX + "access-types";
  /** The access mode of the current attachments (set when the first node is granted). */
  public static final String PUBLISH_MODE = PREFIX + "publish-mode";
  /**
   * Where a CHAP volume's credentials come from: {@link #CHAP_GENERATED} (the controller made
   * them and keeps them in the engine and, with a Kubernetes API, in the volume's Secret) or
   * {@link #CHAP_FROM_SECRETS} (the class's Secret, through CSI secrets). Absent on volumes
   * made before the controller generated credentials: theirs come from CSI secrets.
   */
  public static final String CHAP_CREDENTIALS = PREFIX + "chap-credentials";
  public static final String CHAP_GENERATED = "generated";
  public static final String CHAP_FROM_SECRETS = "secrets";
  /** A snapshot's logical block size (that of its source volume). */
  public static final String BLOCK_SIZE = PREFIX + "block-size";
  /** A snapshot's source volume id. */
  public static final String SOURCE_VOLUME = PREFIX + "source-volume";
  /** The id of the group snapshot a snapshot was taken in (CSI group_snapshot_id). */
  public static final String GROUP_SNAPSHOT = PREFIX + "group-snapshot";
  /** The CSI name of that group snapshot. */
  public static final String GROUP_NAME = PREFIX + "group-name";
  private static final String PARAM = PREFIX + "param.";
  private static final String KUBERNETES = PREFIX + "k8s.";

  private VolumeLabels() {}

  public static Map<String, String> forVolume(String driver, String name,
      VolumeParameters params, String source, String accessTypes) {
    Map<String, String> labels = new TreeMap<>();
    labels.put(MANAGED_BY, driver);
    labels.put(NAME, name);
    params.canonical().forEach((k, v) -> labels.put(PARAM + k, v));
    params.kubernetes().forEach((k, v) -> labels.put(KUBERNETES + k.replace('/', '.'), v));
    if (!source.isEmpty()) {
      labels.put(SOURCE, source);
    }
    labels.put(ACCESS_TYPES, accessTypes);
    return labels;
  }

  public static VolumeParameters parameters(Map<String, String> labels) {
    Map<String, String> canonical = new LinkedHashMap<>();
    Map<String, String> k8s = new TreeMap<>();
    labels.forEach((k, v) -> {
      if (k.startsWith(PARAM)) {
        canonical.put(k.substring(PARAM.length()), v);
      } else if (k.startsWith(KUBERNETES)) {
        k8s.put(k.substring(KUBERNETES.length()).replace('.', '/'), v);
      }
    });
    return VolumeParameters.fromCanonical(canonical, k8s);
  }

  public static Map<String, String> selector(String driver) {
    return Map.of(MANAGED_BY, driver);
  }
}
