package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.login.DiscoveryScope;
import org.iscsicsi.target.login.LoginException;
import org.iscsicsi.target.login.TextKeys;
import org.iscsicsi.target.names.WireText;
import org.iscsicsi.target.pdu.InitiatorPdu.TextRequest;
import org.iscsicsi.target.pdu.RejectReason;
import org.iscsicsi.target.pdu.TargetPdu;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Text negotiation in the full feature phase (RFC 7143 section 11.10) for one logged-in session:
 * SendTargets (section 12.3) is answered; other keys are refused, as renegotiation is not offered.
 * An answer longer than the initiator's MaxRecvDataSegmentLength goes out in pieces, each further
 * one asked for by an empty request carrying the Target Transfer Tag of the last (section 6.2).
 */
final class TextExchange {

  private static final Logger log = LoggerFactory.getLogger(TextExchange.class);
  private static final int RESERVED = SequenceNumbers.RESERVED;

  private final TargetDirectory directory;
  private final ExportedTarget target;
  private final String initiatorName;
  private final DiscoveryScope scope;
  private final List<String> portals;
  private final int maxSegment;
  private final SequenceNumbers numbers;
  private ByteBuf remainder;
  private int remainderTtt = RESERVED;

  /**
   * @param target the session's target, null for a discovery session
   * @param scope which granted targets SendTargets may name
   * @param maxSegment the initiator's MaxRecvDataSegmentLength
   */
  TextExchange(TargetDirectory directory, ExportedTarget target, String initiatorName,
      DiscoveryScope scope, List<String> portals, int maxSegment, SequenceNumbers numbers) {
    this.directory = directory;
    this.target = target;
    this.initiatorName = initiatorName;
    this.scope = scope;
    this.portals = portals;
    this.maxSegment = maxSegment;
    this.numbers = numbers;
  }

  /**
   * Writes (does not flush) the answer to a Text Request whose CmdSN was accepted and whose data
   * is {@code bytes}; returns the reason to reject the request instead, or null.
   */
  RejectReason answer(ChannelHandlerContext ctx, TextRequest t, byte[] bytes) {
    if (t.ttt() != RESERVED) {
      if (t.ttt() != remainderTtt || remainder == null) {
        return RejectReason.INVALID_PDU_FIELD;
      }
      send(ctx, t.itt(), remainder);
      return null;
    }
    release();
    if (t.cont()) {
      return RejectReason.COMMAND_NOT_SUPPORTED;
    }
    Map<String, String> keys;
    try {
      keys = TextKeys.parse(bytes);
    } catch (LoginException e) {
      log.info("text request from {} is malformed: {}", initiatorName,
          WireText.escape(e.getMessage()));
      return RejectReason.PROTOCOL_ERROR;
    }
    ByteBuf answer = Unpooled.buffer();
    Map<String, String> others = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : keys.entrySet()) {
      if (e.getKey().equals("SendTargets")) {
        answer.writeBytes(SendTargets.answer(e.getValue(), initiatorName, scope, directory,
            target, portals, (InetSocketAddress) ctx.channel().localAddress()));
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
    send(ctx, t.itt(), answer);
    return null;
  }

  /** Sends as much of {@code text} as one PDU may carry; the rest waits for a continuation. */
  private void send(ChannelHandlerContext ctx, int itt, ByteBuf text) {
    if (text.readableBytes() <= maxSegment) {
      remainder = null;
      remainderTtt = RESERVED;
      ctx.write(new TargetPdu.TextResponse(true, false, 0, itt, RESERVED, numbers.nextStatSn(),
          numbers.expCmdSn(), numbers.maxCmdSn(), text));
      return;
    }
    ByteBuf chunk = text.readRetainedSlice(maxSegment);
    remainder = text;
    remainderTtt = numbers.newTtt();
    ctx.write(new TargetPdu.TextResponse(false, true, 0, itt, remainderTtt, numbers.nextStatSn(),
        numbers.expCmdSn(), numbers.maxCmdSn(), chunk));
  }

  /** Drops an answer not yet fully sent (a new request, or the connection is gone). */
  void release() {
    if (remainder != null) {
      remainder.release();
      remainder = null;
    }
    remainderTtt = RESERVED;
  }
}
