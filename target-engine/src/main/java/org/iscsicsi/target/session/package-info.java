/**
 * The full feature phase (RFC 7143 sections 4, 10 and 11): one {@link
 * org.iscsicsi.target.session.IscsiConnection} handler per TCP connection, the session table with
 * TSIH allocation and reinstatement, SCSI task state with R2T and Data-Out, and the per-session
 * counters the admin API reports.
 */
package org.iscsicsi.target.session;
