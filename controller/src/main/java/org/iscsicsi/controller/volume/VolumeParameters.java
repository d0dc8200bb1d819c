package org.iscsicsi.controller.volume;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The StorageClass parameters this driver understands, validated (CSI spec, CreateVolume:
 * "parameters ... The Plugin is responsible for parsing and validating these parameters").
 *
 * <ul>
 *   <li>{@code fsType}: {@code ext4} or {@code xfs}; empty for the node's default (ext4).
 *   <li>{@code provisioning}: {@code thin} (sparse file, the default) or {@code thick}.
 *   <li>{@code chap}: {@code true} (the default)/{@code false} (also on/off): CHAP required to
 *       log in. The credentials come from the secrets of the call when they carry a
 *       {@code username} (the class's provisioner or controller-publish Secret); otherwise the
 *       controller generates them for the volume. {@code false} leaves the volume to any
 *       initiator that presents a granted node's name.
 *   <li>{@code mutualChap}: {@code true}/{@code false} (default): the target authenticates to
 *       the initiator too; generated credentials then include the target's.
 *   <li>{@code portals}: comma-separated {@code host:port} list that nodes use instead of the
 *       engine's own portals.
 *   <li>{@code multiNodeMultiWriter}: {@code true} lets block volumes be published read-write to
 *       several nodes at once (for clustered filesystems).
 *   <li>{@code blockSize}: logical block size, 512 (default) or 4096.
 *   <li>{@code overcommitRatio}, {@code maxVolumeSize}: lower the controller's
 *       {@link PoolLimits} for this class (never raise them); not part of the volume's identity.
 *   <li>{@code placement}, {@code backend}, {@code replicas}: pool mode only
 *       ({@link PoolParameters}); only {@code replicas} above 1 is part of the volume's identity.
 * </ul>
 *
 * Keys starting with {@code csi.storage.k8s.io/} come from the external-provisioner (PVC/PV
 * names with --extra-create-metadata, secret references) and are accepted; the PVC and PV names
 * are kept for operators. Any other key is INVALID_ARGUMENT.
 */
public record VolumeParameters(
    String fsType,
    boolean thick,
    boolean chap,
    boolean mutualChap,
    List<String> portals,
    boolean multiNodeMultiWriter,
    int blockSize,
    PoolLimits limits,
    Map<String, String> kubernetes,
    PoolParameters pool) {

  public static final String FS_TYPE = "fsType";
  public static final String PROVISIONING = "provisioning";
  public static final String CHAP = "chap";
  public static final String MUTUAL_CHAP = "mutualChap";
  public static final String OVERCOMMIT_RATIO = "overcommitRatio";
  public static final String MAX_VOLUME_SIZE = "maxVolumeSize";
  public static final String PORTALS = "portals";
  public static final String MULTI_NODE_MULTI_WRITER = "multiNodeMultiWriter";
  public static final String BLOCK_SIZE = "blockSize";
  public static final String KUBERNETES_PREFIX = "csi.storage.k8s.io/";
  private static final String KNOWN_KEYS = "fsType, provisioning, chap, mutualChap, portals, "
      + "multiNodeMultiWriter, blockSize, overcommitRatio, maxVolumeSize, placement, backend, "
      + "replicas and " + KUBERNETES_PREFIX + "*";

  public static final Set<String> FS_TYPES = Set.of("ext4", "xfs");
  private static final Set<String> KEPT_KUBERNETES_KEYS =
      Set.of("pvc/name", "pvc/namespace", "pv/name");
  private static final Pattern PORTAL =
      Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}))"
          + ":([0-9]{1,5})");

  public VolumeParameters {
    if (mutualChap && !chap) {
      throw CsiErrors.invalid("parameter mutualChap: mutual CHAP needs chap");
    }
    portals = List.copyOf(portals);
    kubernetes = Map.copyOf(kubernetes);
    Objects.requireNonNull(pool, "pool");
  }

  /** Parameters without pool-mode ones. */
  public VolumeParameters(String fsType, boolean thick, boolean chap, boolean mutualChap,
      List<String> portals, boolean multiNodeMultiWriter, int blockSize, PoolLimits limits,
      Map<String, String> kubernetes) {
    this(fsType, thick, chap, mutualChap, portals, multiNodeMultiWriter, blockSize, limits,
        kubernetes, PoolParameters.DEFAULT);
  }

  public static VolumeParameters defaults() {
    return new VolumeParameters("", false, true, false, List.of(), false, 512, PoolLimits.NONE,
        Map.of());
  }

  /**
   * Validates StorageClass parameters.
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the bad key
   */
  public static VolumeParameters parse(Map<String, String> parameters) {
    String fsType = "";
    boolean thick = false;
    boolean chap = true;
    boolean mutualChap = false;
    double ratio = 0;
    long maxBytes = 0;
    List<String> portals = List.of();
    boolean mnmw = false;
    int blockSize = 512;
    Optional<PlacementPolicy> placement = Optional.empty();
    Optional<String> backend = Optional.empty();
    int replicas = 1;
    Map<String, String> kubernetes = new TreeMap<>();
    for (Map.Entry<String, String> e : new TreeMap<>(parameters).entrySet()) {
      String key = e.getKey();
      String value = e.getValue().trim();
      switch (key) {
        case FS_TYPE -> {
          String fs = value.toLowerCase(Locale.ROOT);
          if (!fs.isEmpty() && !FS_TYPES.contains(fs)) {
            throw CsiErrors.invalid("parameter fsType: \"" + value + "\" is not ext4 or xfs");
          }
          fsType = fs;
        }
        case PROVISIONING -> {
          switch (value.toLowerCase(Locale.ROOT)) {
            case "thin" -> thick = false;
            case "thick" -> thick = true;
            default -> throw CsiErrors.invalid(
                "parameter provisioning: \"" + value + "\" is not thin or thick");
          }
        }
        case CHAP -> chap = bool(key, value, true);
        case MUTUAL_CHAP -> mutualChap = bool(key, value, false);
        case OVERCOMMIT_RATIO -> ratio = ratio(value);
        case MAX_VOLUME_SIZE -> {
          try {
            maxBytes = ByteQuantity.parse(value);
          } catch (IllegalArgumentException bad) {
            throw CsiErrors.invalid("parameter maxVolumeSize: " + bad.getMessage());
          }
        }
        case PORTALS -> portals = portals(value);
        case MULTI_NODE_MULTI_WRITER -> mnmw = bool(key, value, false);
        case BLOCK_SIZE -> {
          if (!value.equals("512") && !value.equals("4096")) {
            throw CsiErrors.invalid("parameter blockSize: \"" + value + "\" is not 512 or 4096");
          }
          blockSize = Integer.parseInt(value);
        }
        case PoolParameters.PLACEMENT ->
            placement = Optional.of(PoolParameters.parsePlacement(value));
        case PoolParameters.BACKEND ->
            backend = Optional.of(PoolParameters.parseBackend(value));
        case PoolParameters.REPLICAS -> replicas = PoolParameters.parseReplicas(value);
        default -> {
          if (!key.startsWith(KUBERNETES_PREFIX)) {
            throw CsiErrors.invalid("unknown parameter \"" + key + "\" (known: " + KNOWN_KEYS
                + ")");
          }
          String sub = key.substring(KUBERNETES_PREFIX.length());
          if (KEPT_KUBERNETES_KEYS.contains(sub)) {
            kubernetes.put(sub, value);
          }
        }
      }
    }
    return new VolumeParameters(fsType, thick, chap, mutualChap, portals, mnmw, blockSize,
        new PoolLimits(ratio, maxBytes), kubernetes,
        new PoolParameters(placement, backend, replicas));
  }

  /**
   * The settings that define the volume, as strings; two CreateVolume calls with the same name
   * are compatible only when these are equal. Kubernetes metadata is not part of it.
   */
  public Map<String, String> canonical() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(FS_TYPE, fsType);
    m.put(PROVISIONING, thick ? "thick" : "thin");
    m.put(CHAP, Boolean.toString(chap));
    m.put(MUTUAL_CHAP, Boolean.toString(mutualChap));
    m.put(PORTALS, String.join(",", portals));
    m.put(MULTI_NODE_MULTI_WRITER, Boolean.toString(multiNodeMultiWriter));
    m.put(BLOCK_SIZE, Integer.toString(blockSize));
    if (pool.replicated()) { // absent at 1: volumes made before replication keep their identity
      m.put(PoolParameters.REPLICAS, Integer.toString(pool.replicas()));
    }
    return m;
  }

  /**
   * Reads back what {@link #canonical()} wrote (labels are ours, so they are trusted). A volume
   * whose labels predate a key gets what it was made with: no CHAP without a {@code chap}
   * label, no mutual CHAP without a {@code mutualChap} one. Limits are not kept.
   */
  public static VolumeParameters fromCanonical(Map<String, String> m, Map<String, String> k8s) {
    String portals = m.getOrDefault(PORTALS, "");
    return new VolumeParameters(
        m.getOrDefault(FS_TYPE, ""),
        "thick".equals(m.get(PROVISIONING)),
        Boolean.parseBoolean(m.get(CHAP)),
        Boolean.parseBoolean(m.get(MUTUAL_CHAP)),
        portals.isEmpty() ? List.of() : List.of(portals.split(",")),
        Boolean.parseBoolean(m.get(MULTI_NODE_MULTI_WRITER)),
        Integer.parseInt(m.getOrDefault(BLOCK_SIZE, "512")),
        PoolLimits.NONE,
        k8s,
        new PoolParameters(java.util.Optional.empty(), java.util.Optional.empty(),
            Integer.parseInt(m.getOrDefault(PoolParameters.REPLICAS, "1"))));
  }

  /** The same parameters with the filesystem type the capabilities asked for. */
  public VolumeParameters withFsType(String fs) {
    return new VolumeParameters(fs, thick, chap, mutualChap, portals, multiNodeMultiWriter,
        blockSize, limits, kubernetes, pool);
  }

  private static boolean bool(String key, String value, boolean whenEmpty) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "" -> whenEmpty;
      case "true", "on", "yes" -> true;
      case "false", "off", "no" -> false;
      default -> throw CsiErrors.invalid("parameter " + key + ": \"" + value
          + "\" is not true or false");
    };
  }

  private static double ratio(String value) {
    double r;
    try {
      r = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw CsiErrors.invalid("parameter overcommitRatio: \"" + value + "\" is not a number");
    }
    if (!(r > 0) || Double.isInfinite(r)) {
      throw CsiErrors.invalid("parameter overcommitRatio: \"" + value + "\" is not above 0");
    }
    return r;
  }

  private static List<String> portals(String value) {
    return portals("parameter", value);
  }

  /**
   * Comma-separated {@code host:port} portals (IPv6 hosts in brackets), in order.
   *
   * @param what how the error names the list's origin ("parameter", "volume attribute")
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT for an empty list or a bad portal
   */
  public static List<String> portals(String what, String value) {
    List<String> out = new ArrayList<>();
    for (String p : value.split(",")) {
      String portal = p.trim();
      if (portal.isEmpty()) {
        continue;
      }
      var m = PORTAL.matcher(portal);
      if (!m.matches() || Integer.parseInt(m.group(3)) == 0
          || Integer.parseInt(m.group(3)) > 65535) {
        throw CsiErrors.invalid(what + " portals: \"" + portal + "\" is not host:port");
      }
      out.add(portal);
    }
    if (out.isEmpty()) {
      throw CsiErrors.invalid(what + " portals: empty list");
    }
    return out;
  }
}
