package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.security.SecureRandom;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import org.iscsicsi.target.login.LoginResult;
import org.iscsicsi.target.login.LoginStateMachine;
import org.iscsicsi.target.login.SessionParameters;
import org.iscsicsi.target.pdu.InitiatorPdu;
import org.iscsicsi.target.pdu.InitiatorPdu.DataOut;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.InitiatorPdu.LogoutRequest;
import org.iscsicsi.target.pdu.InitiatorPdu.NopOut;
import org.iscsicsi.target.pdu.InitiatorPdu.ScsiCommand;
import org.iscsicsi.target.pdu.InitiatorPdu.SnackRequest;
import org.iscsicsi.target.pdu.InitiatorPdu.TaskManagementRequest;
import org.iscsicsi.target.pdu.InitiatorPdu.TextRequest;
import org.iscsicsi.target.pdu.InvalidPdu;
import org.iscsicsi.target.pdu.IscsiPduDecoder;
import org.iscsicsi.target.pdu.IscsiPduEncoder;
import org.iscsicsi.target.pdu.RejectReason;
import org.iscsicsi.target.pdu.TargetPdu;
import org.iscsicsi.target.pdu.TargetPdu.TaskManagementResponse;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.ScsiRequest;
import org.iscsicsi.target.scsi.ScsiResponse;
import org.iscsicsi.target.scsi.ScsiTargetPort;
import org.iscsicsi.target.scsi.Sense;
import org.iscsicsi.target.scsi.TaskAttribute;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target side of one iSCSI connection (RFC 7143): login through {@link LoginStateMachine},
 * then the full feature phase: the CmdSN window and StatSN (section 4.2.2), SCSI commands with
 * immediate, unsolicited and R2T-solicited data (sections 10.3, 10.7, 10.8), Data-In with
 * phase-collapsed status and residuals (10.4, 11.4.5), NOP-Out/NOP-In both ways (11.18, 11.19),
 * Text with SendTargets (11.10), Logout (11.14), task management (11.5) and Reject (11.17).
 *
 * <p>This handler dispatches PDUs and carries SCSI commands and their data; {@link LoginPhase},
 * {@link SequenceNumbers}, {@link TaskTable}, {@link TaskManagement}, {@link TextExchange},
 * {@link DataOutCollector} and {@link DataInSender} do the rest.
 *
 * <p>Everything runs on the channel's event loop; SCSI completions from other threads hop back onto
 * it. Runs at ErrorRecoveryLevel 0: an error that breaks the byte stream closes the connection.
 *
 * <p>What a connection holds is bounded whatever the initiator sends ({@link DataPathLimits}):
 * Data-Out is gathered only up to what the CDB describes (and never beyond MAXIMUM TRANSFER
 * LENGTH), plus the unsolicited data the negotiated FirstBurstLength allows; immediate commands
 * beyond {@code maxTasks} are rejected; a command beyond the byte budget gets TASK SET FULL; and
 * a peer that does not read its responses stops being read ({@link InboundGate}).
 */
public final class IscsiConnection extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(IscsiConnection.class);
  private static final int RESERVED = SequenceNumbers.RESERVED;
  /** HARDWARE ERROR, INTERNAL TARGET FAILURE (SPC-4 table 28, ASC 0x44). */
  private static final byte[] INTERNAL_FAILURE_SENSE =
      Sense.INTERNAL_TARGET_FAILURE.toFixedFormat();

  private static final ScsiResponse TASK_SET_FULL =
      new ScsiResponse(ScsiResponse.TASK_SET_FULL, new byte[0], null);
  private static final ScsiResponse BUSY = new ScsiResponse(ScsiResponse.BUSY, new byte[0], null);

  // Logout Request reason codes and Logout Response codes (RFC 7143 sections 11.14.1, 11.15.1)
  private static final int LOGOUT_CLOSE_SESSION = 0;
  private static final int LOGOUT_CLOSE_CONNECTION = 1;
  private static final int LOGOUT_CLOSED = 0;
  private static final int LOGOUT_CID_NOT_FOUND = 1;
  private static final int LOGOUT_RECOVERY_NOT_SUPPORTED = 2;

  // ATTR of the SCSI Command PDU (RFC 7143 section 11.2.1.1); 1 is SIMPLE
  private static final int ATTR_UNTAGGED = 0;
  private static final int ATTR_ORDERED = 2;
  private static final int ATTR_HEAD_OF_QUEUE = 3;
  private static final int ATTR_ACA = 4;

  private enum Phase { LOGIN, FULL_FEATURE, CLOSED }

  private final TargetDirectory directory;
  private final SessionTable table;
  private final ConnectionConfig config;
  private final SessionCountersRecorder counters = new SessionCountersRecorder();
  private final DataInSender dataIn = new DataInSender(counters);
  private final TaskTable tasks;
  private final SequenceNumbers numbers;
  private final LoginPhase login;
  private final TaskManagement taskManagement;
  private final DataPathLimits limits;
  private final InboundGate inbound = new InboundGate();
  /** Set while a read batch from the socket is being handled; its end flushes once. */
  private boolean reading;

  private ChannelHandlerContext ctx;
  private Phase phase = Phase.LOGIN;
  // Set when login completes.
  private IscsiSession session;
  private SessionParameters params;
  private ExportedTarget target;
  private TextExchange text;
  private int pingTtt = RESERVED;

  public IscsiConnection(TargetDirectory directory, SessionTable table, ConnectionConfig config,
      IscsiPduDecoder decoder, IscsiPduEncoder encoder, SecureRandom random, LoginGate gate) {
    this.directory = directory;
    this.table = table;
    this.config = config;
    this.tasks = new TaskTable(config.engineBudget());
    this.numbers = new SequenceNumbers(config.commandWindow(), tasks::size);
    this.login = new LoginPhase(directory, table, config, numbers, counters, decoder, encoder,
        random, gate);
    this.taskManagement = new TaskManagement(tasks, numbers);
    this.limits = config.limits();
  }

  /** The session once login completed, else null. */
  public IscsiSession session() {
    return session;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.channel().config().setWriteBufferWaterMark(
        new WriteBufferWaterMark(limits.writeLowWaterMark(), limits.writeHighWaterMark()));
  }

  /** Bytes the connection's tasks may buffer now (for tests and diagnostics). */
  long bytesReserved() {
    return tasks.bytesReserved();
  }

  /** Tasks in flight (for tests and diagnostics). */
  int tasksInFlight() {
    return tasks.size();
  }

  /** Whether reading from the socket is stopped because the peer does not read. */
  boolean readingPaused() {
    return inbound.paused();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    login.startTimer(ctx, () -> phase == Phase.LOGIN);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    phase = Phase.CLOSED;
    login.release();
    inbound.releaseAll();
    tasks.abortAll();
    if (text != null) {
      text.release();
    }
    if (session != null) {
      table.close(session);
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof java.io.IOException) {
      // The socket failed (reset, broken pipe): an initiator that went away, rebooted or was
      // killed: routine for a target, not a fault of the engine.
      log.info("connection from {} ended: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      log.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    ctx.close();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    // a peer that does not read its output is not read either: it misses the ping and is closed
    if (evt instanceof IdleStateEvent && phase == Phase.FULL_FEATURE) {
      if (pingTtt != RESERVED) {
        counters.timeouts.increment();
        log.info("initiator {} did not answer a NOP-In ping; closing",
            ctx.channel().remoteAddress());
        ctx.close();
        return;
      }
      pingTtt = numbers.newTtt();
      ctx.writeAndFlush(new TargetPdu.NopIn(0, RESERVED, pingTtt, numbers.statSn(),
          numbers.expCmdSn(), numbers.maxCmdSn(), Unpooled.EMPTY_BUFFER));
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof InitiatorPdu || msg instanceof InvalidPdu)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (phase == Phase.CLOSED) {
      ReferenceCountUtil.release(msg);
      return;
    }
    reading = true;
    if (inbound.paused()) {
      inbound.hold(msg); // decoded from a read that came before the pause
      return;
    }
    handle(msg);
    if (!ctx.channel().isWritable()) {
      inbound.pause(ctx.channel());
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isWritable() && inbound.paused()) {
      // not from inside the flush that drained the output: handle the held PDUs afterwards
      ctx.executor().execute(this::resume);
    }
    super.channelWritabilityChanged(ctx);
  }

  /** Handles held PDUs while the peer reads its output; reading resumes once none is left. */
  private void resume() {
    reading = true;
    try {
      while (phase != Phase.CLOSED && inbound.paused() && ctx.channel().isWritable()) {
        Object pdu = inbound.next(ctx.channel());
        if (pdu != null) {
          handle(pdu);
        }
      }
    } finally {
      reading = false;
      ctx.flush();
    }
  }

  private void handle(Object msg) {
    if (phase == Phase.CLOSED) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof InvalidPdu bad) {
      onInvalid(bad);
      return;
    }
    if (phase == Phase.LOGIN) {
      if (msg instanceof LoginRequest req) {
        try {
          onLogin(req);
        } finally {
          req.release();
        }
      } else {
        log.info("{} before login from {}; closing", ((InitiatorPdu) msg).opcode(),
            ctx.channel().remoteAddress());
        ReferenceCountUtil.release(msg);
        close();
      }
      return;
    }
    pingTtt = RESERVED; // any PDU shows the initiator is alive
    switch ((InitiatorPdu) msg) {
      case ScsiCommand c -> onScsiCommand(c);
      case DataOut d -> onDataOut(d);
      case NopOut n -> onNopOut(n);
      case TaskManagementRequest t -> onTaskManagement(t);
      case TextRequest t -> onText(t);
      case LogoutRequest l -> onLogout(l);
      case SnackRequest s -> reject(RejectReason.SNACK_REJECT, s.opcode().value(), s.itt(), 0);
      case LoginRequest l -> {
        l.release();
        reject(RejectReason.PROTOCOL_ERROR, l.opcode().value(), l.itt(), l.cmdSn());
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    reading = false;
    ctx.flush();
  }

  // ---------------------------------------------------------------- login

  private void onLogin(LoginRequest req) {
    if (login.process(ctx, req, this::loggedIn) == LoginStateMachine.State.FAILED) {
      phase = Phase.CLOSED;
    }
  }

  private void loggedIn(LoginResult result, IscsiSession session) {
    this.params = result.parameters();
    this.target = result.target();
    this.session = session;
    this.text = new TextExchange(directory, target, result.initiatorName(), result.scope(),
        config.advertisedPortals(), params.initiatorMaxRecvDataSegmentLength(), numbers);
    phase = Phase.FULL_FEATURE;
  }

  // ---------------------------------------------------------------- errors

  private void onInvalid(InvalidPdu bad) {
    if (bad.digestError()) {
      counters.digestErrors.increment();
    }
    log.info("bad PDU from {}: {}", ctx.channel().remoteAddress(), bad.message());
    if (phase != Phase.FULL_FEATURE) {
      close();
      return;
    }
    ByteBuf header = Unpooled.wrappedBuffer(bad.header());
    ctx.write(new TargetPdu.Reject(bad.reason().code(), numbers.nextStatSn(), numbers.expCmdSn(),
        numbers.maxCmdSn(), 0, header));
    if (bad.fatal() || bad.reason() == RejectReason.DATA_DIGEST_ERROR) {
      // ErrorRecoveryLevel 0: the session recovers by logging in again
      ctx.flush();
      close();
    }
  }

  /** Sends a Reject whose data is a header carrying the rejected PDU's opcode, ITT and CmdSN. */
  private void reject(RejectReason reason, int opcode, int itt, int cmdSn) {
    ByteBuf header = Unpooled.buffer(48, 48);
    header.writeByte(opcode).writeZero(15).writeInt(itt).writeZero(4).writeInt(cmdSn)
        .writeZero(20);
    ctx.write(new TargetPdu.Reject(reason.code(), numbers.nextStatSn(), numbers.expCmdSn(),
        numbers.maxCmdSn(), 0, header));
  }

  private void close() {
    phase = Phase.CLOSED;
    ctx.flush();
    ctx.close();
  }

  // ---------------------------------------------------------------- SCSI commands

  private void onScsiCommand(ScsiCommand c) {
    counters.scsicmdPdus.increment();
    int immediateLength = c.data().readableBytes();
    counters.rxdataOctets.add(immediateLength);
    if (target == null) {
      c.release();
      reject(RejectReason.PROTOCOL_ERROR, c.opcode().value(), c.itt(), c.cmdSn());
      return;
    }
    if (!numbers.accept(c.immediate(), c.cmdSn())) {
      c.release();
      return;
    }
    if (tasks.contains(c.itt())) {
      c.release();
      reject(RejectReason.TASK_IN_PROGRESS, c.opcode().value(), c.itt(), c.cmdSn());
      return;
    }
    if (c.immediate() && tasks.size() >= limits.maxTasks()) {
      // non-immediate commands are held back by the command window; immediate ones have no
      // window, so beyond the cap they are refused (RFC 7143 section 11.17.1, reason 0x06)
      c.release();
      reject(RejectReason.IMMEDIATE_COMMAND_REJECT, c.opcode().value(), c.itt(), c.cmdSn());
      return;
    }
    DataDirection direction = c.read() && c.write() ? DataDirection.BIDIRECTIONAL
        : c.write() ? DataDirection.WRITE : c.read() ? DataDirection.READ : DataDirection.NONE;
    int edtl = c.expectedDataTransferLength();
    boolean writes = c.write() && edtl != 0;
    if (immediateLength > 0 && (!writes || !params.immediateData()
        || immediateLength > Math.min(edtl, params.firstBurstLength()))
        || edtl < 0) {
      c.release();
      reject(RejectReason.PROTOCOL_ERROR, c.opcode().value(), c.itt(), c.cmdSn());
      return;
    }
    ScsiTask task = new ScsiTask(c.itt(), c.lun(), LunField.number(c.lun()), c.cdb(), c.cmdSn(),
        edtl, direction, attribute(c.attribute()));
    if (!writes) {
      c.release();
      if (direction != DataDirection.NONE) {
        task.reservation = Math.min(edtl, ScsiTargetPort.MAX_TRANSFER_BYTES);
      }
      admitAndExecute(task);
      return;
    }
    int unsolicitedEnd = c.isFinal() || params.initialR2t() ? immediateLength
        : Math.min(edtl, params.firstBurstLength());
    // Data-Out is gathered only up to what the CDB describes, never up to an expected length the
    // initiator made larger: RFC 7143 section 11.4.5.1 has the target report the difference as
    // residual underflow (and libiscsi's residual tests expect GOOD with U set). The unsolicited
    // data the initiator may send anyway is bounded by the negotiated FirstBurstLength. A CDB
    // beyond MAXIMUM TRANSFER LENGTH (or one without Data-Out) gets no data at all: it runs at
    // once, and the device server refuses it (SBC-3: CHECK CONDITION, ILLEGAL REQUEST, INVALID
    // FIELD IN CDB); its unsolicited Data-Out is then discarded as that of a finished task.
    int accepted = Math.min(edtl, target.scsi().dataOutAccepted(task.lun, task.cdb));
    if (accepted == 0) {
      c.release();
      admitAndExecute(task);
      return;
    }
    task.dataLimit = Math.max(accepted, unsolicitedEnd);
    task.reservation = task.dataLimit;
    if (!fitsBudget(task)) {
      c.release();
      taskSetFull(task);
      return;
    }
    if (immediateLength == task.dataLimit) {
      task.dataOut = c.data(); // all the data came with the command: no copy
      task.received = immediateLength;
    } else {
      DataOutCollector.start(ctx.alloc(), task, c.data());
    }
    if (unsolicitedEnd > immediateLength) {
      task.unsolicited = new ScsiTask.Sequence(RESERVED, immediateLength,
          unsolicitedEnd - immediateLength);
    }
    task.nextR2tOffset = unsolicitedEnd;
    tasks.add(task);
    if (task.received == task.dataLimit) {
      execute(task);
    } else if (task.unsolicited == null) {
      issueR2ts(task);
    }
  }

  private void onDataOut(DataOut d) {
    counters.dataoutPdus.increment();
    int length = d.data().readableBytes();
    counters.rxdataOctets.add(length);
    ScsiTask task = tasks.get(d.itt());
    if (task == null || task.executing || task.dataOut == null) {
      // a task aborted or finished: its remaining Data-Out is discarded (section 11.7)
      d.release();
      return;
    }
    String error = DataOutCollector.accept(task, d);
    d.release();
    if (error != null) {
      log.info("task {}: {}; rejected", task.itt, error);
      reject(RejectReason.PROTOCOL_ERROR, d.opcode().value(), d.itt(), 0);
      return;
    }
    if (task.received == task.dataLimit) {
      execute(task);
    } else if (task.unsolicited == null) {
      issueR2ts(task);
    }
  }

  private void issueR2ts(ScsiTask task) {
    while (task.r2ts.size() < params.maxOutstandingR2t()
        && task.nextR2tOffset < task.dataLimit) {
      int length = Math.min(params.maxBurstLength(), task.dataLimit - task.nextR2tOffset);
      int ttt = numbers.newTtt();
      task.r2ts.put(ttt, new ScsiTask.Sequence(ttt, task.nextR2tOffset, length));
      ctx.write(new TargetPdu.R2t(task.lunField, task.itt, ttt, numbers.statSn(),
          numbers.expCmdSn(), numbers.maxCmdSn(), task.r2tSn++, task.nextR2tOffset, length));
      counters.r2tPdus.increment();
      task.nextR2tOffset += length;
    }
  }

  /**
   * Whether {@code task}'s reservation fits the connection's byte budget (the first task always
   * does) and the engine's shared one; if it does, the engine's share is taken.
   */
  private boolean fitsBudget(ScsiTask task) {
    return tasks.reserve(task, limits.maxBytesInFlight());
  }

  private void admitAndExecute(ScsiTask task) {
    if (!fitsBudget(task)) {
      taskSetFull(task);
      return;
    }
    tasks.add(task);
    execute(task);
  }

  /**
   * TASK SET FULL (SAM-5 5.3.1): the logical unit lacks the resources for another task now; the
   * initiator retries it later. With no task of this connection in flight (the engine's shared
   * budget is what is full) the status is BUSY, as SAM-5 prescribes for a nexus without tasks.
   * The task never entered the table.
   */
  private void taskSetFull(ScsiTask task) {
    boolean own = tasks.bytesReserved() > 0;
    log.debug("task {}: {} ({} bytes in flight here, {} in the engine)", task.itt,
        own ? "TASK SET FULL" : "BUSY", tasks.bytesReserved(), config.engineBudget().reserved());
    dataIn.send(ctx, params.initiatorMaxRecvDataSegmentLength(), params.maxBurstLength(), task,
        own ? TASK_SET_FULL : BUSY, numbers);
  }

  private void execute(ScsiTask task) {
    task.executing = true;
    ByteBuf data = task.dataOut == null ? null
        : DataOutCollector.finish(ctx.alloc(), task.dataOut);
    task.dataOut = null;
    // file ranges (sendfile) for Data-In unless a data digest has to be computed over it
    ScsiRequest request = new ScsiRequest(session.nexus(), task.lun, task.cdb, task.itt,
        task.attribute, task.direction, task.expectedLength, data, !params.dataDigest());
    CompletionStage<ScsiResponse> stage;
    try {
      stage = target.scsi().execute(request);
    } catch (RuntimeException e) {
      log.error("SCSI layer threw on opcode 0x{}", Integer.toHexString(request.opcode()), e);
      complete(task, null, e);
      return;
    }
    stage.whenComplete((response, error) -> {
      if (ctx.executor().inEventLoop()) {
        complete(task, response, error);
      } else {
        try {
          ctx.executor().execute(() -> complete(task, response, error));
        } catch (RejectedExecutionException e) {
          // the event loop is shutting down: the connection and its task are gone
          log.debug("task {} completed after its event loop shut down; response dropped",
              task.itt);
          tasks.unreserve(task); // the engine's share outlives this connection
          if (response != null) {
            response.releaseDataIn();
          }
        }
      }
    });
  }

  private void complete(ScsiTask task, ScsiResponse response, Throwable error) {
    tasks.unreserve(task);
    if (task.aborted || phase != Phase.FULL_FEATURE || !ctx.channel().isActive()) {
      if (response != null) {
        response.releaseDataIn();
      }
      return;
    }
    tasks.remove(task);
    if (error != null || response == null) {
      log.error("SCSI layer failed task {}", task.itt, error);
      if (response != null) {
        response.releaseDataIn();
      }
      response = new ScsiResponse(ScsiResponse.CHECK_CONDITION, INTERNAL_FAILURE_SENSE, null);
    }
    dataIn.send(ctx, params.initiatorMaxRecvDataSegmentLength(), params.maxBurstLength(), task,
        response, numbers);
    if (!reading) {
      ctx.flush(); // else the end of the read batch flushes every response at once
    }
  }

  // ---------------------------------------------------------------- task management

  private void onTaskManagement(TaskManagementRequest t) {
    if (!numbers.accept(t.immediate(), t.cmdSn())) {
      return;
    }
    int response = taskManagement.respond(t, target == null ? null : target.scsi(),
        session.nexus());
    ctx.write(new TaskManagementResponse(response, t.itt(), numbers.nextStatSn(),
        numbers.expCmdSn(), numbers.maxCmdSn()));
    if (t.function() == TaskManagement.TARGET_COLD_RESET
        && response == TaskManagementResponse.FUNCTION_COMPLETE) {
      close(); // a cold reset ends every connection (section 11.5.1)
    }
  }

  // ---------------------------------------------------------------- NOP, text, logout

  private void onNopOut(NopOut n) {
    if (n.itt() == RESERVED) {
      n.release(); // the answer to our ping (pingTtt already cleared)
      return;
    }
    if (!numbers.accept(n.immediate(), n.cmdSn())) {
      n.release();
      return;
    }
    ByteBuf data = n.data();
    int max = params.initiatorMaxRecvDataSegmentLength();
    if (data.readableBytes() > max) {
      data = data.slice(data.readerIndex(), max);
    }
    ctx.write(new TargetPdu.NopIn(n.lun(), n.itt(), RESERVED, numbers.nextStatSn(),
        numbers.expCmdSn(), numbers.maxCmdSn(), data));
  }

  private void onText(TextRequest t) {
    byte[] bytes = ByteBufUtil.getBytes(t.data());
    t.release();
    if (!numbers.accept(t.immediate(), t.cmdSn())) {
      return;
    }
    RejectReason refused = text.answer(ctx, t, bytes);
    if (refused != null) {
      reject(refused, t.opcode().value(), t.itt(), t.cmdSn());
    }
  }

  private void onLogout(LogoutRequest l) {
    if (!numbers.accept(l.immediate(), l.cmdSn())) {
      return;
    }
    // RFC 7143 section 11.14.1 (reason codes) and 11.15.1 (response codes)
    int response = switch (l.reasonCode()) {
      case LOGOUT_CLOSE_SESSION -> LOGOUT_CLOSED;
      case LOGOUT_CLOSE_CONNECTION -> l.cid() == session.login().cid()
          ? LOGOUT_CLOSED : LOGOUT_CID_NOT_FOUND;
      // removing a connection for recovery needs ErrorRecoveryLevel 2
      default -> LOGOUT_RECOVERY_NOT_SUPPORTED;
    };
    ctx.writeAndFlush(new TargetPdu.LogoutResponse(response, l.itt(), numbers.nextStatSn(),
        numbers.expCmdSn(), numbers.maxCmdSn(), 0, 0));
    if (response == LOGOUT_CLOSED) {
      log.info("{} logged out (TSIH {})", session.login().initiatorName(), session.tsih());
      close();
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The ATTR field of a SCSI Command PDU (RFC 7143 section 11.2.1.1); reserved values: SIMPLE. */
  private static TaskAttribute attribute(int attr) {
    return switch (attr) {
      case ATTR_UNTAGGED -> TaskAttribute.UNTAGGED;
      case ATTR_ORDERED -> TaskAttribute.ORDERED;
      case ATTR_HEAD_OF_QUEUE -> TaskAttribute.HEAD_OF_QUEUE;
      case ATTR_ACA -> TaskAttribute.ACA;
      default -> TaskAttribute.SIMPLE;
    };
  }
}
