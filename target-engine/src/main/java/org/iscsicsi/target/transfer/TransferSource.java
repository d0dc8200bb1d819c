package org.iscsicsi.target.transfer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongConsumer;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.v1.TransferHello;
import org.iscsicsi.target.v1.TransferHelloAck;

/**
 * The sending side of one transfer, over a dialled {@link FrameChannel}: HELLO (what is sent,
 * and for a move the target's definition), then per image and per batch of regions with data,
 * REGION_HASHES; the destination answers with the regions it lacks (REGION_WANT), each goes as
 * REGION_DATA (paced by the engine's {@link Bandwidth}) and must come back acknowledged with the
 * same SHA-256; then DONE with the image's content hash, which the destination must match. The
 * images must not change meanwhile (a detached LUN, a snapshot); a region that reads differently
 * when sent than when hashed fails the transfer.
 */
public final class TransferSource {

  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(60);

  private final FrameChannel peer;
  private final Bandwidth bandwidth;
  private final LongConsumer progress;

  /**
   * @param progress told the bytes of every region the destination acknowledged
   */
  public TransferSource(FrameChannel peer, Bandwidth bandwidth, LongConsumer progress) {
    this.peer = peer;
    this.bandwidth = bandwidth;
    this.progress = progress;
  }

  /** An image to send: its file and the regions with data. */
  public record Image(Path file, RegionMap regions) {
  }

  /**
   * Runs the transfer to its end; returns the content hash of the first image, as both sides
   * agreed.
   *
   * @param expectedEngine the destination's engine name ("" for any)
   */
  public byte[] run(TransferHello hello, List<Image> images, String expectedEngine)
      throws TransferException, InterruptedException, IOException {
    peer.send(Frame.of(FrameType.HELLO, 0, 0, hello.toByteArray()));
    Frame ack = peer.expect(FrameType.HELLO_ACK, ANSWER_TIMEOUT);
    TransferHelloAck answer = parseAck(ack);
    if (!expectedEngine.isEmpty() && !expectedEngine.equals(answer.getEngine())) {
      throw new TransferException(peer.peer() + " is engine \"" + answer.getEngine()
          + "\", not \"" + expectedEngine + "\"");
    }
    byte[] first = null;
    for (int i = 0; i < images.size(); i++) {
      byte[] hash = send(i, images.get(i));
      if (first == null) {
        first = hash;
      }
    }
    return first;
  }

  private TransferHelloAck parseAck(Frame ack) throws TransferException {
    try {
      return TransferHelloAck.parseFrom(ack.payload());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new TransferException(peer.peer() + " sent a malformed HELLO_ACK: " + e.getMessage());
    }
  }

  private byte[] send(int index, Image image)
      throws TransferException, InterruptedException, IOException {
    TreeMap<Integer, byte[]> hashes = new TreeMap<>();
    long size = image.regions().sizeBytes();
    ByteBuffer buffer = ByteBuffer.allocate(Frame.REGION_BYTES);
    try (ImageFile file = ImageFile.open(image.file())) {
      List<Integer> all = image.regions().regions();
      for (int from = 0; from < all.size(); from += Frame.MAX_HASH_ENTRIES) {
        List<Integer> batch = all.subList(from,
            Math.min(all.size(), from + Frame.MAX_HASH_ENTRIES));
        ByteBuffer entries = ByteBuffer.allocate(batch.size() * Frame.HASH_ENTRY_BYTES);
        for (int r : batch) {
          byte[] h = RegionHashes.of(read(file, size, r, buffer));
          hashes.put(r, h);
          entries.putInt(r).put(h);
        }
        peer.send(Frame.of(FrameType.REGION_HASHES, index, 0, entries.array()));
        for (int r : wanted(peer.expect(FrameType.REGION_WANT, ANSWER_TIMEOUT), batch)) {
          ByteBuffer data = read(file, size, r, buffer);
          byte[] h = RegionHashes.of(data);
          if (!Arrays.equals(h, hashes.get(r))) {
            throw new TransferException("region " + r + " of image " + index + " ("
                + image.file() + ") changed while it was sent: the image must not be written "
                + "during a transfer");
          }
          bandwidth.acquire(data.remaining());
          byte[] bytes = new byte[data.remaining()];
          data.get(bytes);
          peer.send(Frame.of(FrameType.REGION_DATA, index, (long) r * Frame.REGION_BYTES,
              bytes));
          Frame written = peer.expect(FrameType.ACK, ANSWER_TIMEOUT);
          if (!Arrays.equals(written.payload(), h)) {
            throw new TransferException(peer.peer() + " wrote region " + r + " of image "
                + index + " with SHA-256 " + hex(written.payload()) + ", sent " + hex(h));
          }
          progress.accept(bytes.length);
        }
      }
    }
    byte[] content = RegionHashes.content(hashes);
    peer.send(Frame.of(FrameType.DONE, index, 0, content));
    Frame done = peer.expect(FrameType.DONE_ACK, ANSWER_TIMEOUT);
    byte[] theirs = Arrays.copyOfRange(done.payload(), 1, done.payload().length);
    if (done.payload().length != 1 + Frame.HASH_BYTES || done.payload()[0] != 1
        || !Arrays.equals(theirs, content)) {
      throw new TransferException(peer.peer() + " holds image " + index
          + " with content hash " + hex(theirs) + ", this engine sent " + hex(content));
    }
    return content;
  }

  /** The regions of a REGION_WANT, each one of {@code batch}, ascending. */
  private List<Integer> wanted(Frame want, List<Integer> batch) throws TransferException {
    byte[] p = want.payload();
    if (p.length % Integer.BYTES != 0) {
      throw new TransferException(peer.peer() + " sent a REGION_WANT of " + p.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(p);
    List<Integer> out = new ArrayList<>();
    int last = -1;
    while (b.hasRemaining()) {
      int r = b.getInt();
      if (r <= last || !batch.contains(r)) {
        throw new TransferException(peer.peer() + " asked for region " + r
            + ", which this batch does not list (or not in ascending order)");
      }
      out.add(r);
      last = r;
    }
    return out;
  }

  private static ByteBuffer read(ImageFile file, long size, int r, ByteBuffer buffer)
      throws IOException {
    buffer.clear().limit(RegionMap.length(size, r));
    file.read((long) r * Frame.REGION_BYTES, buffer);
    return buffer.flip();
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
