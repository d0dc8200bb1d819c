package org.iscsicsi.target.registry;

import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessControl;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.scsi.ScsiTargetPort;
import org.iscsicsi.target.state.TargetRecord;

/**
 * An immutable view of one target for the iSCSI layer: a definition, its pre-indexed ACL and the
 * (long-lived, internally synchronized) SCSI port. A configuration change publishes a new
 * {@code LiveTarget} with the same port, so sessions keep their LUNs.
 */
record LiveTarget(TargetRecord definition, AccessControl acl, ScsiTargetDevice port)
    implements ExportedTarget {

  LiveTarget(TargetRecord definition, ScsiTargetDevice port) {
    this(definition, new AccessControl(definition.grants()), port);
  }

  @Override
  public String name() {
    return definition.name();
  }

  @Override
  public String alias() {
    return definition.alias();
  }

  @Override
  public int portalGroupTag() {
    return definition.portalGroupTag();
  }

  @Override
  public AccessLevel access(String initiatorName) {
    return acl.access(initiatorName);
  }

  @Override
  public Optional<ChapSecret> incomingChap() {
    return Optional.ofNullable(definition.incomingChap());
  }

  @Override
  public Optional<ChapSecret> outgoingChap() {
    return Optional.ofNullable(definition.outgoingChap());
  }

  @Override
  public Map<String, String> loginParameters() {
    return definition.parameters();
  }

  @Override
  public ScsiTargetPort scsi() {
    return port;
  }

  @Override
  public String toString() {
    return "LiveTarget[" + definition.name() + "]";
  }
}
