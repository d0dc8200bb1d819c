package org.iscsicsi.target.login;

import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.registry.ExportedTarget;

/**
 * What a successful login established.
 *
 * @param tsih the TSIH the initiator asked for: 0 for a new session, else the live session whose
 *     connection this login replaces
 * @param target null for a discovery session
 * @param access the ACL grant (READ_WRITE for discovery sessions, which reach no LUN)
 * @param scope the granted targets SendTargets may name in this session
 */
public record LoginResult(String initiatorName, String initiatorAlias, long isid, int tsih, int cid,
    boolean discovery, ExportedTarget target, AccessLevel access, String authMethod,
    SessionParameters parameters, DiscoveryScope scope) {
}
