package org.iscsicsi.target.acl;

import org.iscsicsi.target.names.IscsiNames;

/**
 * One entry of a target's ACL: an initiator name (normalized, RFC 3722) or {@link #ALL}, and
 * whether that initiator may only read.
 */
public record InitiatorGrant(String initiator, boolean readOnly) {

  /** The wildcard that matches every initiator not named by a grant of its own. */
  public static final String ALL = "ALL";

  /** Validates the initiator and returns a grant with its normalized name. */
  public static InitiatorGrant of(String initiator, boolean readOnly) {
    return new InitiatorGrant(normalizeInitiator(initiator), readOnly);
  }

  /** "ALL" (any case) stays ALL; anything else must be a valid iSCSI name. */
  public static String normalizeInitiator(String initiator) {
    if (initiator != null && initiator.equalsIgnoreCase(ALL)) {
      return ALL;
    }
    try {
      return IscsiNames.validate(initiator);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("initiator: " + e.getMessage() + " (or use ALL)", e);
    }
  }

  public AccessLevel level() {
    return readOnly ? AccessLevel.READ_ONLY : AccessLevel.READ_WRITE;
  }
}
