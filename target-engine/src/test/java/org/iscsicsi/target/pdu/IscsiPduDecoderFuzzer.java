package org.iscsicsi.target.pdu;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import org.iscsicsi.target.fuzz.FuzzStatistics;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzzing of {@link IscsiPduDecoder} through an {@link EmbeddedChannel}: any
 * bytes, split into chunks as the fuzzer chooses, with or without header and data digests. The
 * decoder never throws, emits only PDUs or {@link InvalidPdu}s, and leaks nothing: once the
 * emitted PDUs are released, every input buffer is freed. Regression inputs:
 * {@code src/test/resources/org/iscsicsi/target/pdu/IscsiPduDecoderFuzzerInputs/decode/}.
 */
class IscsiPduDecoderFuzzer {

  private static final int MAX_DATA_SEGMENT = 8192;
  private static final FuzzStatistics STATS = new FuzzStatistics("IscsiPduDecoder");

  @FuzzTest(maxDuration = "45s")
  void decode(FuzzedDataProvider data) {
    IscsiPduDecoder decoder = new IscsiPduDecoder(MAX_DATA_SEGMENT);
    if (data.consumeBoolean()) {
      decoder.setDigests(data.consumeBoolean(), data.consumeBoolean());
    }
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
    java.util.List<ByteBuf> inputs = new java.util.ArrayList<>();
    while (data.remainingBytes() > 0) {
      int chunk = data.consumeInt(1, 4096);
      ByteBuf input = Unpooled.wrappedBuffer(data.consumeBytes(chunk));
      inputs.add(input);
      channel.writeInbound(input.retain());
      drain(channel);
    }
    channel.finishAndReleaseAll();
    for (ByteBuf input : inputs) {
      assertThat(input.refCnt()).as("input buffer still referenced").isEqualTo(1);
      input.release();
    }
    STATS.executed(inputs.size());
  }

  private static void drain(EmbeddedChannel channel) {
    Object out;
    while ((out = channel.readInbound()) != null) {
      assertThat(out).isInstanceOfAny(InitiatorPdu.class, InvalidPdu.class);
      STATS.outcome(out instanceof InvalidPdu bad ? "invalid:" + bad.reason()
          : ((InitiatorPdu) out).opcode().toString());
      ReferenceCountUtil.release(out);
    }
  }

  @AfterAll
  static void report() {
    STATS.print();
  }
}
