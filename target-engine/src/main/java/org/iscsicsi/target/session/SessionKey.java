package org.iscsicsi.target.session;

/**
 * What identifies a session for reinstatement (RFC 7143 section 6.3.5): initiator name, ISID and
 * target (empty for discovery sessions).
 */
record SessionKey(String initiatorName, long isid, String targetName) {
}
