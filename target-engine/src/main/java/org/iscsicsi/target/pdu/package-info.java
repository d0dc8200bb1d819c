/**
 * The iSCSI PDU codec (RFC 7143 section 11): one immutable record per PDU kind ({@link
 * org.iscsicsi.target.pdu.InitiatorPdu}, {@link org.iscsicsi.target.pdu.TargetPdu}), the framing
 * decoder with CRC32C digests and the encoder. Laid out like netty's codec-mqtt and
 * codec-memcache: bad input becomes an {@link org.iscsicsi.target.pdu.InvalidPdu} with a failed
 * DecoderResult, never an exception.
 */
package org.iscsicsi.target.pdu;
