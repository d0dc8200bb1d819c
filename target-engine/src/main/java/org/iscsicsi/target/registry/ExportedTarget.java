package org.iscsicsi.target.registry;

import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.scsi.ScsiTargetPort;

/** A target as the iSCSI layer sees it at login, in discovery and in the full feature phase. */
public interface ExportedTarget {

  /** The iqn./eui./naa. name. */
  String name();

  /** TargetAlias, or empty. */
  String alias();

  int portalGroupTag();

  AccessLevel access(String initiatorName);

  /** Incoming CHAP: when present, the initiator must authenticate with it. */
  Optional<ChapSecret> incomingChap();

  /**
   * Outgoing CHAP: when present and the initiator asks (mutual CHAP), the target answers with it.
   */
  Optional<ChapSecret> outgoingChap();

  /** Login key defaults for this target (RFC 7143 section 13 names), overriding the engine's. */
  Map<String, String> loginParameters();

  ScsiTargetPort scsi();
}
