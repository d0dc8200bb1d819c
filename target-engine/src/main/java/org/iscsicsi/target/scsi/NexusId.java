package org.iscsicsi.target.scsi;

/**
 * The identity of an I_T nexus for reservations and unit attentions: initiator port name
 * (name,i,0xISID) and target port name (name,t,0xTPGT), RFC 7143 section 4.1.
 */
record NexusId(String initiatorPort, String targetPort) {

  static NexusId of(ItNexus nexus) {
    return new NexusId(nexus.initiatorPortName(), nexus.targetPortName());
  }
}
