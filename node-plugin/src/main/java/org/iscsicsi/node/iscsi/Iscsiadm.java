package org.iscsicsi.node.iscsi;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * open-iscsi's {@code iscsiadm}, one method per operation the node plugin needs. Calls that edit
 * the node database (discovery, new, update, delete, and the record edits of
 * {@link NodeDatabase}) hold one lock, because concurrent iscsiadm processes race on the record
 * files. Logins and logouts of different targets run in parallel. No secret is ever an argument:
 * CHAP settings go into the record files ({@link #configureRecord},
 * {@link #discover(Portal, Map)}).
 *
 * <p>Exit codes from open-iscsi's include/iscsi_err.h: 15 session exists, 21 no objects found,
 * 24 authorization failed.
 */
public final class Iscsiadm {

  static final int ERR_SESS_EXISTS = 15;
  static final int ERR_NO_OBJS_FOUND = 21;

  private static final String UNREACHABLE_HINT =
      " (the portal did not answer: check the network and the target)";

  private static final Logger log = LoggerFactory.getLogger(Iscsiadm.class);

  private final CommandRunner runner;
  private final String program;
  private final Duration timeout;
  private final Duration loginTimeout;
  private final NodeDatabase db;
  private final ReentrantLock nodeDbLock = new ReentrantLock(true);

  /**
   * @param program path of iscsiadm (or a wrapper that enters the host's namespaces)
   * @param timeout for quick calls (records, sessions, logout)
   * @param loginTimeout for discovery and login, which wait on the network
   */
  public Iscsiadm(CommandRunner runner, String program, NodeDatabase db, Duration timeout,
      Duration loginTimeout) {
    this.runner = Objects.requireNonNull(runner);
    this.db = Objects.requireNonNull(db);
    this.program = Objects.requireNonNull(program);
    this.timeout = timeout;
    this.loginTimeout = loginTimeout;
  }

  /** SendTargets discovery that does not store records (so other targets leave no trace). */
  public List<NodeRecord> discover(Portal portal) throws IscsiException {
    Command c = Command.of(loginTimeout, program, "-m", "discovery", "-t", "sendtargets", "-p",
        portal.toString(), "-o", "nonpersistent");
    return IscsiadmParser.records(locked(() -> checked(c, "discovery at " + portal)).stdout());
  }

  /**
   * SendTargets discovery with the discovery record's own settings (CHAP): the record is created
   * ({@code -m discoverydb -o new}), {@code settings} are written into its file, discovery runs
   * without storing node records, and the record (holding the secret) is deleted again.
   */
  public List<NodeRecord> discover(Portal portal, Map<String, String> settings)
      throws IscsiException {
    String p = portal.toString();
    Command create = Command.of(timeout, program, "-m", "discoverydb", "-t", "st", "-p", p,
        "-o", "new");
    Command discover = Command.of(loginTimeout, program, "-m", "discoverydb", "-t", "st", "-p",
        p, "--discover", "-o", "nonpersistent");
    Command delete = Command.of(timeout, program, "-m", "discoverydb", "-t", "st", "-p", p,
        "-o", "delete");
    return locked(() -> {
      try {
        checked(create, "creating the discovery record of " + portal);
        db.update(db.discoveryRecord(portal), settings);
        return IscsiadmParser.records(checked(discover, "discovery at " + portal).stdout());
      } finally {
        deleteDiscoveryRecord(delete, portal);
      }
    });
  }

  /** Best effort, so that a failure here never hides why discovery failed; logged. */
  private void deleteDiscoveryRecord(Command delete, Portal portal) {
    try {
      CommandResult r = run(delete, "deleting the discovery record of " + portal);
      if (!r.ok() && r.exitCode() != ERR_NO_OBJS_FOUND) {
        log.warn("{}", CommandRunner.failure(delete, r).getMessage());
      }
    } catch (IscsiException e) {
      log.warn("{}", e.getMessage());
    }
  }

  /**
   * Creates (or keeps) the node record for one target and portal, then sets {@code settings}
   * (a null value removes one) in its file.
   */
  public void configureRecord(String iqn, Portal portal, Map<String, String> settings)
      throws IscsiException {
    Command c = node(timeout, iqn, portal).arg("-o", "new").build();
    locked(() -> {
      checked(c, "creating the node record of " + iqn);
      db.update(db.nodeRecord(iqn, portal), settings);
      return null;
    });
  }

  /** Logs in; an existing session counts as success. */
  public void login(String iqn, Portal portal) throws IscsiException {
    Command c = node(loginTimeout, iqn, portal).arg("--login").build();
    CommandResult r = run(c, "login to " + iqn + " at " + portal);
    if (r.ok() || r.exitCode() == ERR_SESS_EXISTS) {
      return;
    }
    throw failure(c, r, "login to " + iqn + " at " + portal);
  }

  /** Logs out of this target at this portal only; no session counts as success. */
  public void logout(String iqn, Portal portal) throws IscsiException {
    Command c = node(loginTimeout, iqn, portal).arg("--logout").build();
    CommandResult r = run(c, "logout of " + iqn);
    if (r.ok() || r.exitCode() == ERR_NO_OBJS_FOUND) {
      return;
    }
    throw failure(c, r, "logout of " + iqn + " at " + portal);
  }

  /** Deletes the node record; a missing record counts as success. */
  public void deleteRecord(String iqn, Portal portal) throws IscsiException {
    Command c = node(timeout, iqn, portal).arg("-o", "delete").build();
    CommandResult r = locked(() -> run(c, "deleting the record of " + iqn));
    if (r.ok() || r.exitCode() == ERR_NO_OBJS_FOUND) {
      return;
    }
    throw failure(c, r, "deleting the node record of " + iqn + " at " + portal);
  }

  /** Rescans the session's LUNs so a grown or newly mapped LUN becomes visible. */
  public void rescan(String iqn, Portal portal) throws IscsiException {
    Command c = node(timeout, iqn, portal).arg("--rescan").build();
    checked(c, "rescan of " + iqn);
  }

  /** The active sessions; none is an empty list. */
  public List<IscsiSession> sessions() throws IscsiException {
    Command c = Command.of(timeout, program, "-m", "session");
    CommandResult r = run(c, "listing sessions");
    if (r.exitCode() == ERR_NO_OBJS_FOUND) {
      return List.of();
    }
    if (!r.ok()) {
      throw failure(c, r, "listing sessions");
    }
    return IscsiadmParser.sessions(r.stdout());
  }

  /** The node records; none is an empty list. */
  public List<NodeRecord> records() throws IscsiException {
    Command c = Command.of(timeout, program, "-m", "node");
    CommandResult r = run(c, "listing node records");
    if (r.exitCode() == ERR_NO_OBJS_FOUND) {
      return List.of();
    }
    if (!r.ok()) {
      throw failure(c, r, "listing node records");
    }
    return IscsiadmParser.records(r.stdout());
  }

  private Command.Builder node(Duration t, String iqn, Portal portal) {
    org.iscsicsi.csi.exec.Args.iscsiName("target IQN", iqn);
    return Command.builder(program, t).arg("-m", "node", "-T", iqn, "-p", portal.toString());
  }

  private CommandResult checked(Command c, String what) throws IscsiException {
    CommandResult r = run(c, what);
    if (!r.ok()) {
      throw failure(c, r, what);
    }
    return r;
  }

  private CommandResult run(Command c, String what) throws IscsiException {
    try {
      return runner.run(c);
    } catch (CommandException e) {
      // A timeout here is a portal that accepted nothing useful (discovery, login): same hint.
      throw new IscsiException(
          e.timedOut() ? IscsiException.Kind.UNREACHABLE : IscsiException.Kind.OTHER,
          e.exitCode(), what + " failed" + (e.timedOut() ? UNREACHABLE_HINT : "") + ": "
              + e.getMessage(), e);
    }
  }

  private static IscsiException failure(Command c, CommandResult r, String what) {
    CommandException ce = CommandRunner.failure(c, r);
    IscsiException.Kind kind = IscsiException.classify(r.exitCode());
    String hint = switch (kind) {
      case AUTH_FAILED -> " (CHAP authentication failed: check the node-stage secret)";
      case UNREACHABLE -> UNREACHABLE_HINT;
      case ISCSID_DOWN -> " (iscsid is not running: start it, e.g. systemctl enable --now"
          + " iscsid.socket)";
      default -> "";
    };
    log.debug("{} failed: {}", what, ce.getMessage());
    return new IscsiException(kind, r.exitCode(), what + " failed" + hint + ": "
        + ce.getMessage(), ce);
  }

  private <T> T locked(IscsiCall<T> call) throws IscsiException {
    nodeDbLock.lock();
    try {
      return call.call();
    } finally {
      nodeDbLock.unlock();
    }
  }

  @FunctionalInterface
  private interface IscsiCall<T> {
    T call() throws IscsiException;
  }
}
