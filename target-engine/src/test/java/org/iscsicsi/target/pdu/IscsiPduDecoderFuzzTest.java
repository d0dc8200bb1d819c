package org.iscsicsi.target.pdu;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A bounded, seeded fuzz of {@link IscsiPduDecoder} (fixed iterations, a second or two): mutated
 * valid PDUs and random bytes, fed in random chunk sizes, with and without digests. The decoder
 * never throws, every emitted object is a PDU or an InvalidPdu, and nothing leaks (once the
 * emitted PDUs are released, the input buffer's reference count drops to zero).
 */
class IscsiPduDecoderFuzzTest {

  static final String[] SEEDS = {
      IscsiPduCodecTest.LOGIN_REQUEST, IscsiPduCodecTest.READ10, IscsiPduCodecTest.NOP_OUT,
      IscsiPduCodecTest.EXTENDED_CDB, IscsiPduCodecTest.UNKNOWN_OPCODE};

  @Test
  void decoderSurvivesMutatedAndRandomInput() {
    Random random = new Random(0x15C5L);
    int emitted = 0;
    for (int iteration = 0; iteration < 2000; iteration++) {
      IscsiPduDecoder decoder = new IscsiPduDecoder(8192);
      if (random.nextInt(4) == 0) {
        decoder.setDigests(random.nextBoolean(), random.nextBoolean());
      }
      EmbeddedChannel channel = new EmbeddedChannel(decoder);
      ByteBuf input = Unpooled.buffer();
      int pdus = 1 + random.nextInt(4);
      for (int i = 0; i < pdus; i++) {
        byte[] bytes;
        if (random.nextInt(5) == 0) {
          bytes = new byte[random.nextInt(300)];
          random.nextBytes(bytes);
        } else {
          ByteBuf seed = IscsiPduCodecTest.hex(SEEDS[random.nextInt(SEEDS.length)]);
          bytes = new byte[seed.readableBytes()];
          seed.readBytes(bytes);
          int flips = random.nextInt(6);
          for (int f = 0; f < flips; f++) {
            bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
          }
        }
        input.writeBytes(bytes);
      }
      while (input.isReadable()) {
        int n = Math.min(input.readableBytes(), 1 + random.nextInt(64));
        channel.writeInbound(input.readRetainedSlice(n));
      }
      for (Object o; (o = channel.readInbound()) != null; ) {
        assertThat(o).isInstanceOfAny(InitiatorPdu.class, InvalidPdu.class);
        ReferenceCountUtil.release(o);
        emitted++;
      }
      channel.finishAndReleaseAll();
      // every slice handed to the decoder and every data segment it emitted was released
      assertThat(input.release()).as("iteration %d", iteration).isTrue();
    }
    assertThat(emitted).as("decoded PDUs").isGreaterThan(2000);
  }
}
