package org.iscsicsi.target.scsi;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.UnitIo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SCSI target device of one iSCSI target: its LUN map, REPORT LUNS, commands to absent LUNs,
 * and per-nexus unit attentions. Contract shared by the SCSI layer (which implements it) and the
 * registry (which attaches and detaches LUNs).
 *
 * <p>Every command is checked here, in arrival order and on the caller's thread, for the things
 * SAM-5/SPC-4 put before execution: LUN present (else LOGICAL UNIT NOT SUPPORTED), pending unit
 * attention (SAM-5 5.14, with the INQUIRY / REPORT LUNS / REQUEST SENSE exemptions), supported
 * opcode, the port's asymmetric access state ({@link Alua}), reservation conflicts. Commands that
 * touch the backing file then run on a virtual-thread executor, so several commands per LUN are in
 * flight and no blocking file I/O runs on a netty event loop; what cannot block (a read the page
 * cache holds, a file range for sendfile, a small buffered write while such writes stay quick) runs
 * on the caller's thread, saving two thread hops per command. ORDERED tasks wait for the tasks
 * before them ({@link TaskOrdering}).
 */
public final class ScsiTargetDevice implements ScsiTargetPort {

  private static final Logger log = LoggerFactory.getLogger(ScsiTargetDevice.class);
  private static final ExecutorService DEFAULT_IO =
      Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("scsi-io-", 0).factory());
  private static final int INQUIRY = 0x12;
  private static final int REQUEST_SENSE = 0x03;
  private static final int REPORT_LUNS = 0xa0;

  private final String targetName;
  private final Executor io;
  private final boolean inline;
  private final Map<Long, LunState> luns = new ConcurrentSkipListMap<>();
  private final Map<Long, Runnable> capacityListeners = new ConcurrentHashMap<>();
  private final Set<NexusId> nexuses = ConcurrentHashMap.newKeySet();
  private final UnitAttentions attentions = new UnitAttentions();

  public ScsiTargetDevice(String targetName) {
    this(targetName, DEFAULT_IO);
  }

  /** With the executor file I/O runs on (virtual threads by default). */
  public ScsiTargetDevice(String targetName, Executor io) {
    this(targetName, io, true);
  }

  /**
   * With the executor file I/O runs on and whether I/O that cannot block (page-cache reads, file
   * ranges for sendfile, small buffered writes while they stay quick) may run on the caller's
   * thread instead; with {@code inline} false every file access goes through {@code io}.
   */
  public ScsiTargetDevice(String targetName, Executor io, boolean inline) {
    this.targetName = targetName;
    this.io = io;
    this.inline = inline;
  }

  public String targetName() {
    return targetName;
  }

  /** Adds a LUN without port slots (TPGS 00b); other nexuses get REPORTED LUNS DATA HAS CHANGED. */
  public void attach(long lun, LogicalUnit unit) {
    attach(lun, unit, null);
  }

  /**
   * Adds a LUN, served through the port slot and with the access states of {@code alua} (null:
   * no ALUA, TPGS 00b); other nexuses get REPORTED LUNS DATA HAS CHANGED.
   */
  public void attach(long lun, LogicalUnit unit, AluaGroups alua) {
    if (lun < 0 || lun > 16383) {
      throw new IllegalArgumentException("LUN must be 0-16383 (flat space addressing): " + lun);
    }
    LunState state = new LunState(lun, unit, (n, s) -> attentions.add(n, lun, s));
    state.setAlua(alua);
    if (luns.putIfAbsent(lun, state) != null) {
      throw new IllegalArgumentException("LUN " + lun + " of " + targetName + " is in use");
    }
    Runnable listener = () -> nexuses.forEach(n -> attentions.add(n, lun,
        Sense.CAPACITY_DATA_CHANGED));
    capacityListeners.put(lun, listener);
    unit.addCapacityListener(listener);
    for (NexusId n : nexuses) {
      attentions.add(n, lun, Sense.POWER_ON_RESET);
      for (long other : luns.keySet()) {
        if (other != lun) {
          attentions.add(n, other, Sense.REPORTED_LUNS_DATA_CHANGED);
        }
      }
    }
    log.info("{}: attached LUN {} ({})", targetName, lun, unit.config());
  }

  /** Removes a LUN (the caller closes it); other nexuses get REPORTED LUNS DATA HAS CHANGED. */
  public LogicalUnit detach(long lun) {
    LunState state = luns.remove(lun);
    if (state == null) {
      return null;
    }
    Runnable listener = capacityListeners.remove(lun);
    if (listener != null) {
      state.unit.removeCapacityListener(listener);
    }
    attentions.forgetLun(lun);
    for (NexusId n : nexuses) {
      for (long other : luns.keySet()) {
        attentions.add(n, other, Sense.REPORTED_LUNS_DATA_CHANGED);
      }
    }
    log.info("{}: detached LUN {}", targetName, lun);
    return state.unit;
  }

  /**
   * Replaces a LUN's port groups and access states (SPC-4 5.16.2.2, implicit transitions: the
   * engine's control decides). When any state changed, every I_T nexus gets ASYMMETRIC ACCESS
   * STATE CHANGED for the LUN, so initiators read REPORT TARGET PORT GROUPS again.
   *
   * @throws IllegalArgumentException when no LUN has that number
   */
  public void setAlua(long lun, AluaGroups alua) {
    LunState state = luns.get(lun);
    if (state == null) {
      throw new IllegalArgumentException("no LUN " + lun + " on " + targetName);
    }
    if (state.setAlua(alua)) {
      for (NexusId n : nexuses) {
        attentions.add(n, lun, Sense.ASYMMETRIC_ACCESS_STATE_CHANGED);
      }
      log.info("{}: LUN {} ALUA states {}", targetName, lun,
          alua == null ? "none" : alua.states());
    }
  }

  /**
   * Routes a LUN's writes, flushes and unmaps through {@code next} (a replicated unit in front of
   * the LU, docs/replication.md section 2), or back to the LU itself when null; reads stay with
   * the LU.
   *
   * @throws IllegalArgumentException when no LUN has that number
   */
  public void routeIo(long lun, UnitIo next) {
    LunState state = luns.get(lun);
    if (state == null) {
      throw new IllegalArgumentException("no LUN " + lun + " on " + targetName);
    }
    state.io(next == null ? state.unit : next);
  }

  /** A LUN's port groups and access states, or null (absent LUN, or none). */
  public AluaGroups alua(long lun) {
    LunState state = luns.get(lun);
    LunState.AluaView view = state == null ? null : state.alua();
    return view == null ? null : view.groups();
  }

  public Map<Long, LogicalUnit> luns() {
    Map<Long, LogicalUnit> map = new TreeMap<>();
    luns.forEach((k, v) -> map.put(k, v.unit));
    return Collections.unmodifiableMap(map);
  }

  Set<Long> lunNumbers() {
    return luns.keySet();
  }

  @Override
  public CompletionStage<ScsiResponse> execute(ScsiRequest request) {
    LunState lu = luns.get(request.lun());
    CompletionStage<ScsiResponse> stage = lu == null || request.attribute() == null
        ? run(request)
        : lu.ordering.submit(request.attribute(), () -> run(request));
    int dataOutLength = lu == null || request.cdb() == null || request.cdb().length == 0 ? -1
        : DataOutLength.of(request.cdb(), lu.unit.blockSize());
    if (dataOutLength >= 0) {
      stage = stage.thenApply(r -> r.transferLength() < 0 ? r.withTransferLength(dataOutLength)
          : r);
    }
    if (request.dataOut() == null) {
      return stage;
    }
    return stage.whenComplete((r, t) -> request.dataOut().release());
  }

  @Override
  public int dataOutAccepted(long lun, byte[] cdb) {
    LunState lu = luns.get(lun);
    if (lu == null || cdb == null || cdb.length == 0) {
      return 0;
    }
    int described = DataOutLength.of(cdb, lu.unit.blockSize());
    return described > MAX_TRANSFER_BYTES ? 0 : Math.max(0, described);
  }

  /** Checks and runs a command; failures become sense data. */
  private CompletionStage<ScsiResponse> run(ScsiRequest request) {
    try {
      return dispatch(request);
    } catch (CheckCondition c) {
      return CompletableFuture.completedFuture(c.toResponse());
    } catch (RuntimeException e) {
      log.error("{}: command {} failed", targetName, hex(request.cdb()), e);
      return CompletableFuture.completedFuture(
          new CheckCondition(Sense.of(Sense.ABORTED_COMMAND, 0x44, 0x00)).toResponse());
    }
  }

  private CompletionStage<ScsiResponse> dispatch(ScsiRequest request) throws CheckCondition {
    byte[] cdb = request.cdb();
    if (cdb == null || cdb.length == 0) {
      throw new CheckCondition(Sense.INVALID_OPCODE);
    }
    int opcode = cdb[0] & 0xff;
    if (cdb.length < Cdb.groupLength(opcode)) {
      throw new CheckCondition(Sense.INVALID_OPCODE); // a CDB cut short (never from iSCSI)
    }
    LunState lu = luns.get(request.lun());
    NexusId nexus = NexusId.of(request.nexus());
    CommandContext context = new CommandContext(request, this, lu, io, inline);
    if (lu == null) {
      return switch (opcode) {
        case INQUIRY -> Inquiry.INSTANCE.run(context);
        case REPORT_LUNS -> ReportLuns.INSTANCE.run(context);
        case REQUEST_SENSE -> RequestSense.run(context, Sense.LUN_NOT_SUPPORTED);
        default -> throw new CheckCondition(Sense.LUN_NOT_SUPPORTED);
      };
    }
    if (opcode == REQUEST_SENSE) {
      return RequestSense.run(context,
          attentions.poll(nexus, request.lun()).orElse(Sense.NONE));
    }
    if (opcode == REPORT_LUNS) {
      attentions.clear(nexus, request.lun(), Sense.REPORTED_LUNS_DATA_CHANGED);
    } else if (opcode != INQUIRY) {
      Optional<Sense> ua = attentions.poll(nexus, request.lun());
      if (ua.isPresent()) {
        throw new CheckCondition(ua.get());
      }
    }
    CommandDescriptor descriptor = CommandSet.find(cdb);
    if (cdb.length < descriptor.cdbLength()) {
      throw new CheckCondition(Sense.INVALID_OPCODE);
    }
    AccessState access = lu.accessState();
    if (access != null) {
      Optional<Sense> refused = Alua.refusal(access, descriptor);
      if (refused.isPresent()) {
        throw new CheckCondition(refused.get());
      }
    }
    if (conflicts(lu, nexus, opcode, descriptor.access())) {
      throw CheckCondition.reservationConflict();
    }
    if (changesSharedState(descriptor) && lu.readOnly(request.nexus())) {
      throw new CheckCondition(Sense.WRITE_PROTECTED);
    }
    return descriptor.command().run(context);
  }

  /**
   * Commands that change what other initiators see without writing the medium: reservations and
   * mode pages. A read-only nexus gets DATA PROTECT, WRITE PROTECTED for them as for writes (the
   * sense SBC-3's write protection gives a command that would change a protected logical unit;
   * SPC-4 names no other refusal for a nexus without write rights). The medium-writing commands
   * check this themselves.
   */
  private static boolean changesSharedState(CommandDescriptor d) {
    return d.access() == Access.PERSISTENT_RESERVE_OUT || d.access() == Access.LEGACY_RESERVATION
        || d.command() instanceof ModeSelect;
  }

  /**
   * SPC-2 reservations (SPC-4 5.13) block every command of other nexuses but INQUIRY, REPORT LUNS,
   * REQUEST SENSE and RELEASE; persistent reservations follow SPC-4 5.12.1.
   */
  private static boolean conflicts(LunState lu, NexusId nexus, int opcode, Access access) {
    NexusId legacy = lu.legacyHolder();
    if (legacy != null && !legacy.equals(nexus) && opcode != INQUIRY && opcode != REPORT_LUNS
        && opcode != 0x17 && opcode != 0x57) {
      return true;
    }
    return lu.persistentReservations.conflicts(nexus, access);
  }

  @Override
  public void nexusCreated(ItNexus nexus) {
    NexusId id = NexusId.of(nexus);
    nexuses.add(id);
    attentions.forgetNexus(id);
    for (long lun : luns.keySet()) {
      attentions.add(id, lun, Sense.POWER_ON_RESET);
    }
  }

  @Override
  public void nexusLost(ItNexus nexus) {
    NexusId id = NexusId.of(nexus);
    nexuses.remove(id);
    attentions.forgetNexus(id);
    luns.values().forEach(lu -> lu.nexusLost(id));
  }

  @Override
  public boolean taskManagement(TaskManagementFunction function, ItNexus nexus, long lun) {
    switch (function) {
      case ABORT_TASK, ABORT_TASK_SET, CLEAR_TASK_SET -> {
        return true;
      }
      case CLEAR_ACA -> {
        return false; // NACA is not supported, so there is never an ACA to clear
      }
      case LOGICAL_UNIT_RESET -> {
        LunState lu = luns.get(lun);
        if (lu == null) {
          return false;
        }
        resetUnit(lu, Sense.LUN_RESET_OCCURRED);
        return true;
      }
      case TARGET_WARM_RESET, TARGET_COLD_RESET -> {
        luns.values().forEach(lu -> {
          resetUnit(lu, Sense.POWER_ON_RESET);
          if (function == TaskManagementFunction.TARGET_COLD_RESET) {
            lu.modePages.reset();
          }
        });
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  /**
   * The reset's effects on one LU: every nexus, the issuer's too (SAM-5: all I_T nexuses;
   * libiscsi's MultipathIO.Reset checks every path), gets a unit attention.
   */
  private void resetUnit(LunState lu, Sense sense) {
    lu.reset();
    for (NexusId n : nexuses) {
      attentions.add(n, lu.lun, sense);
    }
  }

  /** A unit attention for every nexus except {@code except} on one LUN. */
  void attentionForOthers(NexusId except, long lun, Sense sense) {
    for (NexusId n : nexuses) {
      if (!n.equals(except)) {
        attentions.add(n, lun, sense);
      }
    }
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      sb.append(String.format("%02x", x));
    }
    return sb.toString();
  }
}
