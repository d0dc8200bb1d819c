package org.iscsicsi.target.login;

import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.registry.ExportedTarget;

/**
 * What a successful login established.
 *
 * @param target null for a discovery session
 * @param access the ACL grant (READ_WRITE for discovery sessions, which reach no LUN)
 */
public record LoginResult(String initiatorName, String initiatorAlias, long isid, int cid,
    boolean discovery, ExportedTarget target, AccessLevel access, String authMethod,
    SessionParameters parameters) {
}
