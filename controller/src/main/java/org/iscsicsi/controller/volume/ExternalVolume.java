package org.iscsicsi.controller.volume;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.iscsicsi.csi.contract.PublishContext;

/**
 * A LUN on a storage system this driver does not manage (an existing SAN or NAS), named by a
 * static PersistentVolume: {@code csi.volumeHandle} is {@code ext:<anything>} and the PV's
 * {@code volumeAttributes} (CSI volume_context) say where the LUN is. The controller validates
 * them and passes them on in publish_context; it never touches an engine for such a volume (the
 * array manages its own access lists), never lists it and never deletes it.
 *
 * <p>The prefix cannot clash with the controller's own ids ({@link VolumeId}:
 * {@code <engine>.<local>}, lowercase letters, digits and '-' on both sides of the dot): a ':'
 * appears in none of them.
 *
 * <p>Attributes: {@value PublishContext#PORTALS} (required, comma-separated {@code host:port},
 * tried in order), {@value PublishContext#TARGET_IQN} (required), {@value PublishContext#LUN}
 * (0), {@value PublishContext#FS_TYPE} (the node's default), {@value PublishContext#SERIAL} and
 * {@value PublishContext#NAA} (the identity the disk must report), {@value
 * PublishContext#DISCOVERY} ({@code sendtargets} or {@code none}), {@value PublishContext#CHAP}
 * ({@code true} by default: credentials from the node-stage Secret), {@value
 * PublishContext#DISCOVERY_CHAP}, {@value PublishContext#READ_ONLY}. Any other key is refused, so
 * that a misspelt attribute is not silently ignored.
 */
public record ExternalVolume(String id, String targetIqn, List<String> portals, int lun,
    String fsType, Optional<String> serial, Optional<String> naa, String discovery, boolean chap,
    boolean discoveryChap, boolean readOnly) {

  /** Volume ids of external volumes begin with this. */
  public static final String ID_PREFIX = "ext:";
  /** CSI spec: volume ids are at most 128 bytes. */
  private static final int MAX_ID_LENGTH = 128;
  private static final int MAX_LUN = 16383;
  private static final Set<String> DISCOVERY_MODES = Set.of("sendtargets", "none");
  private static final Set<String> KEYS = Set.of(PublishContext.PORTALS,
      PublishContext.TARGET_IQN, PublishContext.LUN, PublishContext.FS_TYPE, PublishContext.SERIAL,
      PublishContext.NAA, PublishContext.DISCOVERY, PublishContext.CHAP,
      PublishContext.DISCOVERY_CHAP, PublishContext.READ_ONLY);
  /** SPC-4 7.8.15: the unit serial number is ASCII; printable, no surrounding blanks. */
  private static final Pattern SERIAL = Pattern.compile("[!-~]([ -~]{0,250}[!-~])?");
  private static final Pattern NAA = Pattern.compile("(naa\\.)?([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})");

  /** Whether {@code volumeId} names an external volume. */
  public static boolean isExternal(String volumeId) {
    return volumeId.startsWith(ID_PREFIX);
  }

  /**
   * Validates a static PV's volume attributes.
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the bad attribute
   */
  public static ExternalVolume parse(String volumeId, Map<String, String> attributes) {
    if (!isExternal(volumeId) || volumeId.length() == ID_PREFIX.length()
        || volumeId.length() > MAX_ID_LENGTH || volumeId.chars().anyMatch(c -> c < 0x20)) {
      throw CsiErrors.invalid("volume id " + volumeId + ": an external volume's id is "
          + ID_PREFIX + "<name>, at most " + MAX_ID_LENGTH + " bytes without control characters");
    }
    for (String key : attributes.keySet()) {
      if (!KEYS.contains(key)) {
        throw CsiErrors.invalid("volume " + volumeId + ": unknown volume attribute \"" + key
            + "\" (known: " + new java.util.TreeSet<>(KEYS) + ")");
      }
    }
    String iqn = attributes.getOrDefault(PublishContext.TARGET_IQN, "").strip();
    if (!IscsiNames.valid(iqn)) {
      throw CsiErrors.invalid("volume " + volumeId + ": volume attribute "
          + PublishContext.TARGET_IQN + " \"" + iqn + "\" is not an iSCSI name (iqn., eui. or"
          + " naa.; lowercase)");
    }
    List<String> portals = VolumeParameters.portals("volume attribute",
        attributes.getOrDefault(PublishContext.PORTALS, ""));
    int lun = lun(volumeId, attributes.getOrDefault(PublishContext.LUN, "0").strip());
    String fsType = attributes.getOrDefault(PublishContext.FS_TYPE, "").strip();
    if (!fsType.isEmpty() && !VolumeParameters.FS_TYPES.contains(fsType)) {
      throw invalid(volumeId, PublishContext.FS_TYPE, fsType, "ext4 or xfs");
    }
    Optional<String> serial = optional(attributes, PublishContext.SERIAL);
    if (serial.isPresent() && !SERIAL.matcher(serial.get()).matches()) {
      throw invalid(volumeId, PublishContext.SERIAL, serial.get(), "printable ASCII");
    }
    Optional<String> naa = optional(attributes, PublishContext.NAA);
    if (naa.isPresent() && !NAA.matcher(naa.get()).matches()) {
      throw invalid(volumeId, PublishContext.NAA, naa.get(), "16 or 32 hex digits");
    }
    String discovery = attributes.getOrDefault(PublishContext.DISCOVERY, "sendtargets").strip();
    if (!DISCOVERY_MODES.contains(discovery)) {
      throw invalid(volumeId, PublishContext.DISCOVERY, discovery, "sendtargets or none");
    }
    return new ExternalVolume(volumeId, iqn, portals, lun, fsType, serial, naa, discovery,
        flag(volumeId, attributes, PublishContext.CHAP, true),
        flag(volumeId, attributes, PublishContext.DISCOVERY_CHAP, false),
        flag(volumeId, attributes, PublishContext.READ_ONLY, false));
  }

  /** What the node plugin needs to stage the volume; {@code readOnly} adds to the PV's own. */
  public Map<String, String> publishContext(boolean readOnlyRequested) {
    Map<String, String> ctx = new LinkedHashMap<>();
    ctx.put(PublishContext.TARGET_IQN, targetIqn);
    ctx.put(PublishContext.PORTALS, String.join(",", portals));
    ctx.put(PublishContext.LUN, Integer.toString(lun));
    ctx.put(PublishContext.CHAP, Boolean.toString(chap));
    ctx.put(PublishContext.DISCOVERY_CHAP, Boolean.toString(discoveryChap));
    ctx.put(PublishContext.DISCOVERY, discovery);
    ctx.put(PublishContext.READ_ONLY, Boolean.toString(readOnly || readOnlyRequested));
    ctx.put(PublishContext.FS_TYPE, fsType);
    serial.ifPresent(s -> ctx.put(PublishContext.SERIAL, s));
    naa.ifPresent(n -> ctx.put(PublishContext.NAA, n));
    return ctx;
  }

  /**
   * The parameters the access rules check a capability against: the PV's filesystem; sharing
   * between nodes (block only) is the array's and the workload's business, as on any SAN.
   */
  public VolumeParameters accessParameters() {
    return new VolumeParameters(fsType, false, chap, false, portals, true,
        VolumeParameters.defaults().blockSize(), PoolLimits.NONE, Map.of());
  }

  private static int lun(String volumeId, String value) {
    if (value.matches("[0-9]{1,5}") && Integer.parseInt(value) <= MAX_LUN) {
      return Integer.parseInt(value);
    }
    throw invalid(volumeId, PublishContext.LUN, value, "a number from 0 to " + MAX_LUN);
  }

  private static boolean flag(String volumeId, Map<String, String> attributes, String key,
      boolean whenAbsent) {
    String v = attributes.getOrDefault(key, Boolean.toString(whenAbsent)).strip();
    return switch (v) {
      case "true" -> true;
      case "false" -> false;
      default -> throw invalid(volumeId, key, v, "true or false");
    };
  }

  private static Optional<String> optional(Map<String, String> attributes, String key) {
    return Optional.ofNullable(attributes.get(key)).map(String::strip).filter(s -> !s.isEmpty());
  }

  private static io.grpc.StatusRuntimeException invalid(String volumeId, String key,
      String value, String expected) {
    return CsiErrors.invalid("volume " + volumeId + ": volume attribute " + key + " \"" + value
        + "\" is not " + expected);
  }
}
