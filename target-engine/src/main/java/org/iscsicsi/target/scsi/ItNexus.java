package org.iscsicsi.target.scsi;

import java.util.HexFormat;

/**
 * An I_T nexus (SAM-5 4.7): one initiator port talking to one target port. Unit attentions and
 * persistent reservations are kept per nexus. The iSCSI initiator port name is the initiator name
 * plus the ISID ("iqn...,i,0x23d000000001", RFC 7143 section 4.1).
 *
 * @param readOnly the ACL granted this initiator read-only access: writes get DATA PROTECT and
 *     MODE SENSE reports WP
 */
public record ItNexus(String initiatorName, long isid, String targetName, int portalGroupTag,
    boolean readOnly) {

  public String initiatorPortName() {
    return initiatorName + ",i,0x" + HexFormat.of().toHexDigits(isid).substring(4);
  }

  public String targetPortName() {
    return targetName + ",t,0x" + HexFormat.of().toHexDigits((short) portalGroupTag);
  }
}
