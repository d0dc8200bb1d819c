package org.iscsicsi.target.login;

/**
 * The operational parameters in force once login completes (RFC 7143 section 13).
 *
 * @param initiatorMaxRecvDataSegmentLength what the initiator declared: the largest data segment
 *     this target may send it
 * @param targetMaxRecvDataSegmentLength what this target declared: the largest it accepts
 */
public record SessionParameters(boolean headerDigest, boolean dataDigest, int maxConnections,
    boolean initialR2t, boolean immediateData, int initiatorMaxRecvDataSegmentLength,
    int targetMaxRecvDataSegmentLength, int maxBurstLength, int firstBurstLength,
    int defaultTime2Wait, int defaultTime2Retain, int maxOutstandingR2t, boolean dataPduInOrder,
    boolean dataSequenceInOrder, int errorRecoveryLevel) {
}
