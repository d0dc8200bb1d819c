package org.iscsicsi.target.registry;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunCounters;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.scsi.AluaGroups;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running side of the state: each target's SCSI port, the open file of each LUN attached to
 * it, and why a LUN the state names is not open (so that it is reported, never forgotten).
 *
 * <p>Not thread-safe: the registry's one lock guards it. The ports themselves are internally
 * synchronized and shared with the published {@link LiveTarget}s.
 */
final class OpenUnits {

  private static final Logger log = LoggerFactory.getLogger(OpenUnits.class);

  private record LunKey(String target, int lun) {
  }

  private final Map<String, ScsiTargetDevice> ports = new HashMap<>();
  private final Map<LunKey, LogicalUnit> units = new HashMap<>();
  private final Map<LunKey, String> openFailures = new HashMap<>();

  void addPort(String target) {
    ports.put(target, new ScsiTargetDevice(target));
  }

  ScsiTargetDevice port(String target) {
    return ports.get(target);
  }

  /** Opens an existing LUN file at start; a failure is remembered as the LUN's condition. */
  void open(String target, LunRecord l) {
    LogicalUnit unit = null;
    try {
      unit = LogicalUnit.open(l.toConfig());
      unit.throttle().setLimits(l.qosLimits());
      attach(target, l.lun(), unit, l.alua());
    } catch (IOException | RuntimeException e) {
      if (unit != null) {
        closeQuietly(unit); // opened but not attached: nothing else would close it
      }
      log.warn("LUN {} of {} cannot be opened: {}", l.lun(), target, e.toString());
      openFailures.put(new LunKey(target, l.lun()), "cannot open " + l.file() + ": "
          + e.getMessage());
    }
  }

  /**
   * Makes {@code unit} the LUN's open file and shows it on the target's port; if the port refuses
   * it, the LUN is not recorded as open either (the caller still owns {@code unit}).
   */
  void attach(String target, int lun, LogicalUnit unit) {
    attach(target, lun, unit, null);
  }

  /** As {@link #attach(String, int, LogicalUnit)}, with the LUN's ALUA groups (null: none). */
  void attach(String target, int lun, LogicalUnit unit, AluaGroups alua) {
    LunKey key = new LunKey(target, lun);
    units.put(key, unit);
    try {
      ports.get(target).attach(lun, unit, alua);
    } catch (RuntimeException e) {
      units.remove(key);
      throw e;
    }
  }

  /** Detaches and closes the LUN's file (if open) and forgets why it was not. */
  void remove(String target, int lun) {
    LunKey key = new LunKey(target, lun);
    openFailures.remove(key);
    LogicalUnit unit = units.remove(key);
    if (unit != null) {
      ports.get(target).detach(lun);
      closeQuietly(unit);
    }
  }

  /** Removes every LUN of {@code t} and then its port. */
  void removeTarget(TargetRecord t) {
    for (LunRecord l : t.luns()) {
      remove(t.name(), l.lun());
    }
    ports.remove(t.name());
  }

  /** The LUN's open file, or null. */
  LogicalUnit unit(String target, int lun) {
    return units.get(new LunKey(target, lun));
  }

  /** The LUN's open file; FAILED_PRECONDITION with the reason when it is not open. */
  LogicalUnit require(String target, LunRecord l) {
    LunKey key = new LunKey(target, l.lun());
    LogicalUnit u = units.get(key);
    if (u == null) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + l.lun() + " of " + target
          + " is unusable: " + openFailures.getOrDefault(key, "not open"));
    }
    return u;
  }

  LunStatus status(String target, LunRecord l) {
    LunKey key = new LunKey(target, l.lun());
    LogicalUnit u = units.get(key);
    if (u == null) {
      return new LunStatus(target, l, 0, new LunCounters(0, 0, 0, 0), null,
          openFailures.getOrDefault(key, "not open"));
    }
    String condition;
    try {
      condition = u.condition().orElse("");
    } catch (RuntimeException e) {
      condition = "condition unknown: " + e.getMessage();
    }
    return new LunStatus(target, l, condition.isEmpty() ? PoolAccounting.allocated(u) : 0,
        u.counters(), u.throttle().stats(), condition);
  }

  /** Detaches and closes every LUN (engine shutdown); a failure is logged and the rest go on. */
  void closeAll() {
    for (var e : units.entrySet()) {
      ScsiTargetDevice port = ports.get(e.getKey().target());
      if (port != null) {
        try {
          port.detach(e.getKey().lun());
        } catch (RuntimeException ex) {
          log.warn("detaching LUN {} of {}: {}", e.getKey().lun(), e.getKey().target(),
              ex.toString());
        }
      }
      closeQuietly(e.getValue());
    }
    units.clear();
    ports.clear();
  }

  /** Closes a LUN file whose state is already settled; a failure is logged, not thrown. */
  static void closeQuietly(LogicalUnit unit) {
    try {
      unit.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing LUN file {}: {}", unit.config().file(), e.toString());
    }
  }
}
