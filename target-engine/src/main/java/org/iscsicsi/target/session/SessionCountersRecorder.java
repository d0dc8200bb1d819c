package org.iscsicsi.target.session;

import java.util.concurrent.atomic.LongAdder;
import org.iscsicsi.target.session.SessionInfo.SessionCounters;

/** Live per-session counters, written on the event loop and read by the admin API. */
final class SessionCountersRecorder {

  final LongAdder txdataOctets = new LongAdder();
  final LongAdder rxdataOctets = new LongAdder();
  final LongAdder scsicmdPdus = new LongAdder();
  final LongAdder dataoutPdus = new LongAdder();
  final LongAdder r2tPdus = new LongAdder();
  final LongAdder digestErrors = new LongAdder();
  final LongAdder timeouts = new LongAdder();

  SessionCounters snapshot() {
    return new SessionCounters(txdataOctets.sum(), rxdataOctets.sum(), scsicmdPdus.sum(),
        dataoutPdus.sum(), r2tPdus.sum(), digestErrors.sum(), timeouts.sum());
  }
}
