/**
 * The full feature phase (RFC 7143 sections 4, 10 and 11): one {@link
 * org.iscsicsi.target.session.IscsiConnection} handler per TCP connection with its login phase,
 * sequence numbers, SCSI task state (R2T and Data-Out, Data-In), task management and text
 * exchange; the session table with TSIH allocation and reinstatement, and the per-session counters
 * the admin API reports.
 */
package org.iscsicsi.target.session;
