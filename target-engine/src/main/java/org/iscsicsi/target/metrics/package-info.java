/**
 * Prometheus metrics of a target engine (docs/metrics.md): per-LUN I/O and space, per-session
 * counters named like open-iscsi's {@code iscsiadm -m session --stats}, logins and active
 * sessions. Everything is read at scrape time from counters the data path keeps anyway.
 */
package org.iscsicsi.target.metrics;
