package org.iscsicsi.controller.volume;

import csi.v1.Csi.VolumeCapability;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import java.util.List;
import java.util.Optional;

/**
 * Which CSI access modes and access types a volume supports (CSI spec, VolumeCapability). One LUN
 * behind one target: a single node may use it read-write in any single-node mode, many nodes may
 * read it, and many nodes may write it only as a raw block device with the explicit
 * {@code multiNodeMultiWriter} parameter (a clustered filesystem on top is then the user's
 * business). MULTI_NODE_SINGLE_WRITER is not offered: the target cannot tell which node is the
 * writer.
 */
public final class AccessRules {

  private AccessRules() {}

  /**
   * Checks that a capability is well formed.
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT when a required part is missing
   */
  public static void requireWellFormed(VolumeCapability cap) {
    if (!cap.hasBlock() && !cap.hasMount()) {
      throw CsiErrors.invalid("volume capability: access_type (block or mount) is required");
    }
    if (!cap.hasAccessMode() || cap.getAccessMode().getMode() == Mode.UNKNOWN
        || cap.getAccessMode().getMode() == Mode.UNRECOGNIZED) {
      throw CsiErrors.invalid("volume capability: access_mode is required");
    }
  }

  /** Why a volume with these parameters cannot serve {@code cap}; empty when it can. */
  public static Optional<String> unsupported(VolumeCapability cap, VolumeParameters params) {
    requireWellFormed(cap);
    if (cap.hasMount()) {
      String fs = cap.getMount().getFsType();
      if (!fs.isEmpty() && !VolumeParameters.FS_TYPES.contains(fs)) {
        return Optional.of("fs_type \"" + fs + "\" is not supported (ext4, xfs)");
      }
      if (!fs.isEmpty() && !params.fsType().isEmpty() && !fs.equals(params.fsType())) {
        return Optional.of("fs_type \"" + fs + "\" differs from the volume's \""
            + params.fsType() + "\"");
      }
    }
    Mode mode = cap.getAccessMode().getMode();
    return switch (mode) {
      case SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY, SINGLE_NODE_SINGLE_WRITER,
           SINGLE_NODE_MULTI_WRITER, MULTI_NODE_READER_ONLY -> Optional.empty();
      case MULTI_NODE_MULTI_WRITER -> {
        if (!cap.hasBlock()) {
          yield Optional.of("MULTI_NODE_MULTI_WRITER is offered for block volumes only");
        }
        if (!params.multiNodeMultiWriter()) {
          yield Optional.of("MULTI_NODE_MULTI_WRITER needs the StorageClass parameter "
              + VolumeParameters.MULTI_NODE_MULTI_WRITER + "=true");
        }
        yield Optional.empty();
      }
      case MULTI_NODE_SINGLE_WRITER ->
          Optional.of("MULTI_NODE_SINGLE_WRITER is not supported");
      default -> Optional.of("access mode " + mode + " is not supported");
    };
  }

  /** The one filesystem type the capabilities and parameters agree on ("" for none). */
  public static String fsType(List<VolumeCapability> caps, VolumeParameters params) {
    String fs = params.fsType();
    for (VolumeCapability cap : caps) {
      if (cap.hasMount() && !cap.getMount().getFsType().isEmpty()) {
        String want = cap.getMount().getFsType();
        if (!fs.isEmpty() && !fs.equals(want)) {
          throw CsiErrors.invalid("volume capabilities ask for fs_type \"" + want
              + "\" and \"" + fs + "\"");
        }
        fs = want;
      }
    }
    return fs;
  }

  /** Whether the mode allows only one node at a time. */
  public static boolean singleNode(Mode mode) {
    return switch (mode) {
      case MULTI_NODE_READER_ONLY, MULTI_NODE_SINGLE_WRITER, MULTI_NODE_MULTI_WRITER -> false;
      default -> true;
    };
  }

  /** Whether the mode allows reads only, whatever the publish call's readonly flag says. */
  public static boolean readOnly(Mode mode) {
    return mode == Mode.SINGLE_NODE_READER_ONLY || mode == Mode.MULTI_NODE_READER_ONLY;
  }
}
