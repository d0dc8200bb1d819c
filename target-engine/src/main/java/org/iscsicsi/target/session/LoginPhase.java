package org.iscsicsi.target.session;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import org.iscsicsi.target.login.LoginResult;
import org.iscsicsi.target.login.LoginStateMachine;
import org.iscsicsi.target.login.LoginStatus;
import org.iscsicsi.target.login.SessionParameters;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.IscsiPduDecoder;
import org.iscsicsi.target.pdu.IscsiPduEncoder;
import org.iscsicsi.target.pdu.TargetPdu;
import org.iscsicsi.target.registry.TargetDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The login phase of one connection (RFC 7143 section 6): feeds each Login Request to the
 * {@link LoginStateMachine}, numbers and sends its response, limits the whole phase to the login
 * timeout, and on success opens the session and turns on the negotiated digests and segment limit
 * from the next PDU on (section 13.1).
 */
final class LoginPhase {

  private static final Logger log = LoggerFactory.getLogger(LoginPhase.class);

  private final LoginStateMachine login;
  private final SessionTable table;
  private final ConnectionConfig config;
  private final SequenceNumbers numbers;
  private final SessionCountersRecorder counters;
  private final IscsiPduDecoder decoder;
  private final IscsiPduEncoder encoder;
  private final LoginGate gate;
  private boolean firstPdu = true;
  private ScheduledFuture<?> timer;
  /** The source address whose discovery slot this connection holds, or null. */
  private InetAddress discoverySlot;

  LoginPhase(TargetDirectory directory, SessionTable table, ConnectionConfig config,
      SequenceNumbers numbers, SessionCountersRecorder counters, IscsiPduDecoder decoder,
      IscsiPduEncoder encoder, SecureRandom random, LoginGate gate) {
    this.login = new LoginStateMachine(directory, config.loginDefaults(), random, table::exists,
        config.loginPolicy());
    this.gate = gate;
    this.table = table;
    this.config = config;
    this.numbers = numbers;
    this.counters = counters;
    this.decoder = decoder;
    this.encoder = encoder;
  }

  /**
   * Closes the connection if {@code stillLoggingIn} when the login timeout has passed. The timer
   * runs from the connection's start and no PDU or byte the initiator sends restarts it, so a
   * login that trickles data is cut at the same time as a silent one.
   */
  void startTimer(ChannelHandlerContext ctx, BooleanSupplier stillLoggingIn) {
    if (config.loginTimeout().isZero()) {
      return;
    }
    timer = ctx.executor().schedule(() -> {
      if (stillLoggingIn.getAsBoolean()) {
        log.info("login from {} timed out after {}", ctx.channel().remoteAddress(),
            config.loginTimeout());
        ctx.close();
      }
    }, config.loginTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  /** Gives back what the login holds (a discovery session slot); the connection has ended. */
  void release() {
    cancelTimer();
    if (discoverySlot != null) {
      gate.releaseDiscovery(discoverySlot);
      discoverySlot = null;
    }
  }

  /**
   * Handles one Login Request and sends the response (on a failure, then closes the connection).
   * When the login completes, {@code loggedIn} adopts the session before the response leaves.
   *
   * @return the login's state after this request
   */
  LoginStateMachine.State process(ChannelHandlerContext ctx, LoginRequest req,
      BiConsumer<LoginResult, IscsiSession> loggedIn) {
    InetAddress source = SourceAddress.of(ctx.channel().remoteAddress());
    if (firstPdu) {
      numbers.startStatSn(req.expStatSn());
      firstPdu = false;
      if (!gate.admitLogin(source)) {
        // backing off after failed authentications: "try again later" (section 11.13.5)
        refuse(ctx, req, LoginStatus.SERVICE_UNAVAILABLE);
        return LoginStateMachine.State.FAILED;
      }
    }
    numbers.restartWindow(req.cmdSn());
    TargetPdu.LoginResponse resp = login.process(req)
        .withSequence(numbers.nextStatSn(), numbers.expCmdSn(), numbers.maxCmdSn());
    switch (login.state()) {
      case FAILED -> {
        table.loginFinished(resp.statusClass(), resp.statusDetail());
        if (login.credentialRejected()) {
          gate.credentialRejected(source);
        }
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
      }
      case COMPLETE -> {
        LoginResult result = login.result();
        if (result.discovery()) {
          if (!gate.reserveDiscovery(source)) {
            resp.release();
            log.info("discovery login of {} from {} refused: too many discovery sessions",
                result.initiatorName(), source);
            refuse(ctx, req, LoginStatus.OUT_OF_RESOURCES);
            return LoginStateMachine.State.FAILED;
          }
          discoverySlot = source;
        }
        SessionParameters params = result.parameters();
        // only now, with authentication and every check passed, may an older session of the
        // same initiator port end (reinstatement, section 6.3.5)
        IscsiSession session = table.open(result, ctx.channel(), counters);
        table.loginFinished(0, 0);
        loggedIn.accept(result, session);
        cancelTimer();
        ctx.writeAndFlush(resp.withTsih(session.tsih()));
        // digests and the declared segment limit apply from the next PDU on (section 13.1)
        encoder.setDigests(params.headerDigest(), params.dataDigest());
        decoder.setDigests(params.headerDigest(), params.dataDigest());
        decoder.setMaxRecvDataSegmentLength(Math.max(512,
            params.targetMaxRecvDataSegmentLength()));
        log.info("{} logged in to {} (TSIH {}, auth {}, digests {}/{})",
            result.initiatorName(), result.discovery() ? "discovery" : result.target().name(),
            session.tsih(), result.authMethod(), params.headerDigest() ? "CRC32C" : "None",
            params.dataDigest() ? "CRC32C" : "None");
      }
      default -> ctx.writeAndFlush(resp);
    }
    return login.state();
  }

  /** Ends the login with {@code status}, counted like any failed login, and closes. */
  private void refuse(ChannelHandlerContext ctx, LoginRequest req, LoginStatus status) {
    TargetPdu.LoginResponse resp = LoginStateMachine.refusal(req, status)
        .withSequence(numbers.nextStatSn(), numbers.expCmdSn(), numbers.maxCmdSn());
    table.loginFinished(status.statusClass(), status.statusDetail());
    ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
  }
}
