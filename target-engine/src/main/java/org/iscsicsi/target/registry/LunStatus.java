package org.iscsicsi.target.registry;

import org.iscsicsi.target.lun.LunCounters;
import org.iscsicsi.target.qos.LunThrottle;
import org.iscsicsi.target.state.LunRecord;

/**
 * A LUN's definition and what it looks like now.
 *
 * @param throttled what the LUN's I/O limits held back since it was opened; null when not open
 * @param condition empty when healthy, else why the backing file is unusable
 */
public record LunStatus(String target, LunRecord definition, long allocatedBytes,
    LunCounters counters, LunThrottle.Stats throttled, String condition) {
}
