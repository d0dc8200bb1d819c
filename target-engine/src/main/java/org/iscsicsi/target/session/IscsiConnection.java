package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.login.LoginException;
import org.iscsicsi.target.login.LoginResult;
import org.iscsicsi.target.login.LoginStateMachine;
import org.iscsicsi.target.login.SessionParameters;
import org.iscsicsi.target.login.TextKeys;
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
import org.iscsicsi.target.scsi.TaskAttribute;
import org.iscsicsi.target.scsi.TaskManagementFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target side of one iSCSI connection (RFC 7143): login through {@link LoginStateMachine},
 * then the full feature phase: the CmdSN window and StatSN (section 4.2.2), SCSI commands with
 * immediate, unsolicited and R2T-solicited data (sections 10.3, 10.7, 10.8), Data-In with
 * phase-collapsed status and residuals (10.4, 11.4.5), NOP-Out/NOP-In both ways (11.18, 11.19),
 * Text with SendTargets (11.10), Logout (11.14), task management (11.5) and Reject (11.17).
 *
 * <p>Everything runs on the channel's event loop; SCSI completions from other threads hop back onto
 * it. Runs at ErrorRecoveryLevel 0: an error that breaks the byte stream closes the connection.
 */
public final class IscsiConnection extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(IscsiConnection.class);
  private static final int RESERVED = 0xffffffff;
  private static final byte[] INTERNAL_FAILURE_SENSE = {
      0x70, 0, 0x04, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0};

  private enum Phase { LOGIN, FULL_FEATURE, CLOSED }

  private final TargetDirectory directory;
  private final SessionTable table;
  private final ConnectionConfig config;
  private final IscsiPduDecoder decoder;
  private final IscsiPduEncoder encoder;
  private final LoginStateMachine login;
  private final SessionCountersRecorder counters = new SessionCountersRecorder();
  private final DataInSender dataIn = new DataInSender(counters);
  private final DataInSender.Numbers numbers = new DataInSender.Numbers() {
    @Override
    public int nextStatSn() {
      return statSn++;
    }

    @Override
    public int expCmdSn() {
      return expCmdSn;
    }

    @Override
    public int maxCmdSn() {
      return IscsiConnection.this.maxCmdSn();
    }
  };
  /** Set while a read batch from the socket is being handled; its end flushes once. */
  private boolean reading;

  private ChannelHandlerContext ctx;
  private Phase phase = Phase.LOGIN;
  private boolean firstLoginPdu = true;
  private ScheduledFuture<?> loginTimer;
  private int statSn;
  private int expCmdSn;
  private int maxCmdSn;
  private IscsiSession session;
  private SessionParameters params;
  private ExportedTarget target;
  private final Map<Integer, ScsiTask> tasks = new HashMap<>();
  private int nextTtt = 1;
  private int pingTtt = RESERVED;
  private ByteBuf textRemainder;
  private int textTtt = RESERVED;

  public IscsiConnection(TargetDirectory directory, SessionTable table, ConnectionConfig config,
      IscsiPduDecoder decoder, IscsiPduEncoder encoder, SecureRandom random) {
    this.directory = directory;
    this.table = table;
    this.config = config;
    this.decoder = decoder;
    this.encoder = encoder;
    this.login = new LoginStateMachine(directory, config.loginDefaults(), random, table::exists);
  }

  /** The session once login completed, else null. */
  public IscsiSession session() {
    return session;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (!config.loginTimeout().isZero()) {
      loginTimer = ctx.executor().schedule(() -> {
        if (phase == Phase.LOGIN) {
          LOG.info("login from {} timed out after {}", ctx.channel().remoteAddress(),
              config.loginTimeout());
          ctx.close();
        }
      }, config.loginTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    phase = Phase.CLOSED;
    if (loginTimer != null) {
      loginTimer.cancel(false);
    }
    for (ScsiTask t : tasks.values()) {
      t.aborted = true;
      t.releaseData();
    }
    tasks.clear();
    releaseText();
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
      LOG.info("connection from {} ended: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      LOG.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    ctx.close();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent && phase == Phase.FULL_FEATURE) {
      if (pingTtt != RESERVED) {
        counters.timeouts.increment();
        LOG.info("initiator {} did not answer a NOP-In ping; closing",
            ctx.channel().remoteAddress());
        ctx.close();
        return;
      }
      pingTtt = newTtt();
      ctx.writeAndFlush(new TargetPdu.NopIn(0, RESERVED, pingTtt, statSn, expCmdSn, maxCmdSn(),
          Unpooled.EMPTY_BUFFER));
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
        LOG.info("{} before login from {}; closing", ((InitiatorPdu) msg).opcode(),
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
    if (firstLoginPdu) {
      statSn = req.expStatSn();
      firstLoginPdu = false;
    }
    expCmdSn = req.cmdSn();
    maxCmdSn = expCmdSn + config.commandWindow() - 1;
    TargetPdu.LoginResponse resp = login.process(req)
        .withSequence(statSn++, expCmdSn, maxCmdSn());
    switch (login.state()) {
      case FAILED -> {
        table.loginFinished(resp.statusClass(), resp.statusDetail());
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        phase = Phase.CLOSED;
      }
      case COMPLETE -> {
        LoginResult result = login.result();
        params = result.parameters();
        target = result.target();
        session = table.open(result, ctx.channel(), counters);
        table.loginFinished(0, 0);
        phase = Phase.FULL_FEATURE;
        if (loginTimer != null) {
          loginTimer.cancel(false);
        }
        ctx.writeAndFlush(resp.withTsih(session.tsih()));
        // digests and the declared segment limit apply from the next PDU on (section 13.1)
        encoder.setDigests(params.headerDigest(), params.dataDigest());
        decoder.setDigests(params.headerDigest(), params.dataDigest());
        decoder.setMaxRecvDataSegmentLength(Math.max(512,
            params.targetMaxRecvDataSegmentLength()));
        LOG.info("{} logged in to {} (TSIH {}, auth {}, digests {}/{})",
            result.initiatorName(), result.discovery() ? "discovery" : target.name(),
            session.tsih(), result.authMethod(), params.headerDigest() ? "CRC32C" : "None",
            params.dataDigest() ? "CRC32C" : "None");
      }
      default -> ctx.writeAndFlush(resp);
    }
  }

  // ---------------------------------------------------------------- sequence numbers

  /**
   * MaxCmdSN: the window closes while tasks are in flight (flow control) but never moves back, so
   * a command sent inside a window once advertised is always accepted (section 4.2.2.1).
   */
  private int maxCmdSn() {
    int open = Math.max(1, config.commandWindow() - tasks.size());
    int candidate = expCmdSn + open - 1;
    if (candidate - maxCmdSn > 0 || maxCmdSn - expCmdSn + 1 < 0) {
      maxCmdSn = candidate;
    }
    return maxCmdSn;
  }

  /**
   * Applies the CmdSN rules of section 4.2.2.1 to a non-immediate PDU: outside the window it is
   * ignored silently; otherwise ExpCmdSN moves past it.
   */
  private boolean acceptCmdSn(boolean immediate, int cmdSn) {
    if (immediate) {
      return true;
    }
    if (cmdSn - expCmdSn < 0 || maxCmdSn() - cmdSn < 0) {
      LOG.debug("CmdSN {} outside [{}, {}]; ignored", cmdSn, expCmdSn, maxCmdSn());
      return false;
    }
    expCmdSn = cmdSn + 1;
    return true;
  }

  private int newTtt() {
    int t = nextTtt++;
    if (nextTtt == RESERVED) {
      nextTtt = 1;
    }
    return t;
  }

  // ---------------------------------------------------------------- errors

  private void onInvalid(InvalidPdu bad) {
    if (bad.reason() == RejectReason.DATA_DIGEST_ERROR || bad.message().contains("digest")) {
      counters.digestErrors.increment();
    }
    LOG.info("bad PDU from {}: {}", ctx.channel().remoteAddress(), bad.message());
    if (phase != Phase.FULL_FEATURE) {
      close();
      return;
    }
    ByteBuf header = Unpooled.wrappedBuffer(bad.header());
    ctx.write(new TargetPdu.Reject(bad.reason().code(), statSn++, expCmdSn, maxCmdSn(), 0,
        header));
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
    ctx.write(new TargetPdu.Reject(reason.code(), statSn++, expCmdSn, maxCmdSn(), 0, header));
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
    if (!acceptCmdSn(c.immediate(), c.cmdSn())) {
      c.release();
      return;
    }
    if (tasks.containsKey(c.itt())) {
      c.release();
      reject(RejectReason.TASK_IN_PROGRESS, c.opcode().value(), c.itt(), c.cmdSn());
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
    ScsiTask task = new ScsiTask(c.itt(), c.lun(), flatLun(c.lun()), c.cdb(), c.cmdSn(), edtl,
        direction, attribute(c.attribute()));
    if (!writes) {
      c.release();
      tasks.put(task.itt, task);
      execute(task);
      return;
    }
    if (immediateLength == edtl) {
      task.dataOut = c.data(); // all the data came with the command: no copy
      task.received = immediateLength;
    } else {
      DataOutCollector.start(ctx.alloc(), task, c.data());
    }
    int unsolicitedEnd = c.isFinal() || params.initialR2t() ? immediateLength
        : Math.min(edtl, params.firstBurstLength());
    if (unsolicitedEnd > immediateLength) {
      task.unsolicited = new ScsiTask.Sequence(RESERVED, immediateLength,
          unsolicitedEnd - immediateLength);
    }
    task.nextR2tOffset = unsolicitedEnd;
    tasks.put(task.itt, task);
    if (task.received == edtl) {
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
      LOG.info("task {}: {}; rejected", task.itt, error);
      reject(RejectReason.PROTOCOL_ERROR, d.opcode().value(), d.itt(), 0);
      return;
    }
    if (task.received == task.expectedLength) {
      execute(task);
    } else if (task.unsolicited == null) {
      issueR2ts(task);
    }
  }

  private void issueR2ts(ScsiTask task) {
    while (task.r2ts.size() < params.maxOutstandingR2t()
        && task.nextR2tOffset < task.expectedLength) {
      int length = Math.min(params.maxBurstLength(), task.expectedLength - task.nextR2tOffset);
      int ttt = newTtt();
      task.r2ts.put(ttt, new ScsiTask.Sequence(ttt, task.nextR2tOffset, length));
      ctx.write(new TargetPdu.R2t(task.lunField, task.itt, ttt, statSn, expCmdSn, maxCmdSn(),
          task.r2tSn++, task.nextR2tOffset, length));
      counters.r2tPdus.increment();
      task.nextR2tOffset += length;
    }
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
      LOG.error("SCSI layer threw on opcode 0x{}", Integer.toHexString(request.opcode()), e);
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
          if (response != null) {
            response.releaseDataIn();
          }
        }
      }
    });
  }

  private void complete(ScsiTask task, ScsiResponse response, Throwable error) {
    if (task.aborted || phase != Phase.FULL_FEATURE || !ctx.channel().isActive()) {
      if (response != null) {
        response.releaseDataIn();
      }
      return;
    }
    tasks.remove(task.itt, task);
    if (error != null || response == null) {
      LOG.error("SCSI layer failed task {}", task.itt, error);
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
    if (!acceptCmdSn(t.immediate(), t.cmdSn())) {
      return;
    }
    int response;
    if (target == null) {
      response = TaskManagementResponse.AUTHORIZATION_FAILED;
    } else {
      long lun = flatLun(t.lun());
      response = switch (t.function()) {
        case 1 -> {
          ScsiTask victim = tasks.get(t.referencedTaskTag());
          if (victim != null && victim.lunField == t.lun()) {
            abort(victim);
            yield TaskManagementResponse.FUNCTION_COMPLETE;
          }
          // not found (section 11.5.1): a RefCmdSN inside the window was never received and
          // counts as aborted; outside it (typically already completed) the task does not exist
          boolean inWindow = t.refCmdSn() - expCmdSn >= 0 && maxCmdSn() - t.refCmdSn() >= 0;
          yield inWindow ? TaskManagementResponse.FUNCTION_COMPLETE
              : TaskManagementResponse.TASK_DOES_NOT_EXIST;
        }
        case 2 -> {
          abortWhere(task -> task.lunField == t.lun());
          yield TaskManagementResponse.FUNCTION_COMPLETE;
        }
        case 3 -> resetting(TaskManagementFunction.CLEAR_TASK_SET, lun,
            task -> task.lunField == t.lun());
        case 4 -> resetting(TaskManagementFunction.CLEAR_ACA, lun, task -> false);
        case 5 -> resetting(TaskManagementFunction.LOGICAL_UNIT_RESET, lun,
            task -> task.lunField == t.lun());
        case 6 -> resetting(TaskManagementFunction.TARGET_WARM_RESET, lun, task -> true);
        case 7 -> resetting(TaskManagementFunction.TARGET_COLD_RESET, lun, task -> true);
        case 8 -> TaskManagementResponse.REASSIGNMENT_NOT_SUPPORTED;
        default -> TaskManagementResponse.FUNCTION_REJECTED;
      };
    }
    ctx.write(new TaskManagementResponse(response, t.itt(), statSn++, expCmdSn, maxCmdSn()));
    if (t.function() == 7 && response == TaskManagementResponse.FUNCTION_COMPLETE) {
      close(); // a cold reset ends every connection (section 11.5.1)
    }
  }

  private int resetting(TaskManagementFunction function, long lun,
      java.util.function.Predicate<ScsiTask> affected) {
    abortWhere(affected);
    return target.scsi().taskManagement(function, session.nexus(), lun)
        ? TaskManagementResponse.FUNCTION_COMPLETE
        : TaskManagementResponse.FUNCTION_NOT_SUPPORTED;
  }

  private void abortWhere(java.util.function.Predicate<ScsiTask> affected) {
    List<ScsiTask> victims = new ArrayList<>();
    for (ScsiTask task : tasks.values()) {
      if (affected.test(task)) {
        victims.add(task);
      }
    }
    victims.forEach(this::abort);
  }

  private void abort(ScsiTask task) {
    task.aborted = true;
    task.releaseData();
    tasks.remove(task.itt, task);
    task.r2ts.clear();
  }

  // ---------------------------------------------------------------- NOP, text, logout

  private void onNopOut(NopOut n) {
    if (n.itt() == RESERVED) {
      n.release(); // the answer to our ping (pingTtt already cleared)
      return;
    }
    if (!acceptCmdSn(n.immediate(), n.cmdSn())) {
      n.release();
      return;
    }
    ByteBuf data = n.data();
    int max = params.initiatorMaxRecvDataSegmentLength();
    if (data.readableBytes() > max) {
      data = data.slice(data.readerIndex(), max);
    }
    ctx.write(new TargetPdu.NopIn(n.lun(), n.itt(), RESERVED, statSn++, expCmdSn, maxCmdSn(),
        data));
  }

  private void onText(TextRequest t) {
    byte[] bytes = ByteBufUtil.getBytes(t.data());
    t.release();
    if (!acceptCmdSn(t.immediate(), t.cmdSn())) {
      return;
    }
    if (t.ttt() != RESERVED) {
      if (t.ttt() != textTtt || textRemainder == null) {
        reject(RejectReason.INVALID_PDU_FIELD, t.opcode().value(), t.itt(), t.cmdSn());
        return;
      }
      sendText(t.itt(), textRemainder);
      return;
    }
    releaseText();
    if (t.cont()) {
      reject(RejectReason.COMMAND_NOT_SUPPORTED, t.opcode().value(), t.itt(), t.cmdSn());
      return;
    }
    Map<String, String> keys;
    try {
      keys = TextKeys.parse(bytes);
    } catch (LoginException e) {
      reject(RejectReason.PROTOCOL_ERROR, t.opcode().value(), t.itt(), t.cmdSn());
      return;
    }
    ByteBuf answer = Unpooled.buffer();
    Map<String, String> others = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : keys.entrySet()) {
      if (e.getKey().equals("SendTargets")) {
        answer.writeBytes(SendTargets.answer(e.getValue(), session.login().initiatorName(),
            directory, target, config.advertisedPortals(),
            (InetSocketAddress) ctx.channel().localAddress()));
      } else {
        // renegotiation in the full feature phase is not offered
        others.put(e.getKey(), e.getKey().startsWith("X-") || e.getKey().startsWith("X#")
            ? "NotUnderstood" : "Reject");
      }
    }
    if (!others.isEmpty()) {
      ByteBuf extra = TextKeys.encode(others);
      answer.writeBytes(extra);
      extra.release();
    }
    sendText(t.itt(), answer);
  }

  /** Sends as much of {@code text} as one PDU may carry; the rest waits for a continuation. */
  private void sendText(int itt, ByteBuf text) {
    int max = params.initiatorMaxRecvDataSegmentLength();
    if (text.readableBytes() <= max) {
      textRemainder = null;
      textTtt = RESERVED;
      ctx.write(new TargetPdu.TextResponse(true, false, 0, itt, RESERVED, statSn++, expCmdSn,
          maxCmdSn(), text));
      return;
    }
    ByteBuf chunk = text.readRetainedSlice(max);
    textRemainder = text;
    textTtt = newTtt();
    ctx.write(new TargetPdu.TextResponse(false, true, 0, itt, textTtt, statSn++, expCmdSn,
        maxCmdSn(), chunk));
  }

  private void releaseText() {
    if (textRemainder != null) {
      textRemainder.release();
      textRemainder = null;
    }
    textTtt = RESERVED;
  }

  private void onLogout(LogoutRequest l) {
    if (!acceptCmdSn(l.immediate(), l.cmdSn())) {
      return;
    }
    int response = switch (l.reasonCode()) {
      case 0 -> 0;
      case 1 -> l.cid() == session.login().cid() ? 0 : 1;
      default -> 2; // connection recovery needs ErrorRecoveryLevel 2
    };
    ctx.writeAndFlush(new TargetPdu.LogoutResponse(response, l.itt(), statSn++, expCmdSn,
        maxCmdSn(), 0, 0));
    if (response == 0) {
      LOG.info("{} logged out (TSIH {})", session.login().initiatorName(), session.tsih());
      close();
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The LUN number of an 8-byte LUN field, peripheral or flat space addressing (SAM-5 4.7). */
  static long flatLun(long field) {
    int first = (int) (field >>> 56) & 0xff;
    int second = (int) (field >>> 48) & 0xff;
    return switch (first >> 6) {
      case 0 -> first == 0 ? second : ((long) (first & 0x3f) << 8) | second;
      case 1 -> ((long) (first & 0x3f) << 8) | second;
      default -> field; // other addressing methods: passed through, the SCSI layer rejects them
    };
  }

  private static TaskAttribute attribute(int attr) {
    return switch (attr) {
      case 0 -> TaskAttribute.UNTAGGED;
      case 2 -> TaskAttribute.ORDERED;
      case 3 -> TaskAttribute.HEAD_OF_QUEUE;
      case 4 -> TaskAttribute.ACA;
      default -> TaskAttribute.SIMPLE;
    };
  }
}
