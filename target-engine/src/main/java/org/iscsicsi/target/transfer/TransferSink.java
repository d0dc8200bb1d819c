package org.iscsicsi.target.transfer;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;
import org.iscsicsi.target.acl.ChapPolicy;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.engine.EngineIdentity;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.registry.LunIdentity;
import org.iscsicsi.target.registry.ReceivedSnapshot;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.iscsicsi.target.v1.MovedTarget;
import org.iscsicsi.target.v1.TransferHello;
import org.iscsicsi.target.v1.TransferHelloAck;
import org.iscsicsi.target.v1.TransferImage;
import org.iscsicsi.target.v1.TransferInto;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving side of transfers, one connection at a time per call of {@link #serve}. The
 * images are written into new sparse (or, for a thick LUN, preallocated) files in a staging
 * directory ({@code .incoming/<transfer id>} under the pool and the snapshot directory), each
 * region checked against the SHA-256 the source announced, written (all-zero 4 KiB blocks left
 * unwritten, so holes stay holes), synced and read back before it is acknowledged. Only after the
 * last image's content hash matched does the registry adopt them, in one state commit; any
 * failure deletes the staging files, so a failed transfer leaves nothing here. Transfers survive
 * nothing: the staging left by a crash is removed when the engine starts.
 */
public final class TransferSink {

  private static final Logger log = LoggerFactory.getLogger(TransferSink.class);
  static final String STAGING = ".incoming";
  static final Duration FRAME_TIMEOUT = Duration.ofSeconds(60);
  /** Snapshots one move may carry. */
  static final int MAX_IMAGES = 1 + 1024;
  private static final int ZERO_CHECK_BYTES = 4096;
  private static final Set<Integer> BLOCK_SIZES = Set.of(512, 1024, 2048, 4096);

  private final TargetRegistry registry;
  private final EngineIdentity engine;
  private final Semaphore slots;

  /**
   * @param slots the engine's transfer slots: a connection that finds none is refused ("busy")
   */
  public TransferSink(TargetRegistry registry, EngineIdentity engine, Semaphore slots) {
    this.registry = registry;
    this.engine = engine;
    this.slots = slots;
  }

  /** Deletes what unfinished transfers left in the staging directories. */
  public void clearStaging() {
    for (Path dir : List.of(registry.lunDir().resolve(STAGING),
        registry.snapshotDir().resolve(STAGING))) {
      if (Files.isDirectory(dir)) {
        log.info("removing the staging of unfinished transfers in {}", dir);
        deleteTree(dir);
      }
    }
  }

  /** Receives one transfer over {@code peer}; never throws (a failure is refused and logged). */
  public void serve(FrameChannel peer, String subject) {
    TransferHello hello;
    try {
      hello = parse(peer.expect(FrameType.HELLO, FRAME_TIMEOUT));
    } catch (TransferException e) {
      log.info("transfer from {} refused: {}", peer.peer(), e.getMessage());
      peer.refuse(e.getMessage());
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      peer.close();
      return;
    }
    if (!slots.tryAcquire()) {
      peer.refuse("busy: engine " + engine.name() + " runs its most transfers at once");
      return;
    }
    Staging staging = null;
    try {
      staging = check(hello);
      peer.send(Frame.of(FrameType.HELLO_ACK, 0, 0, TransferHelloAck.newBuilder()
          .setEngine(engine.name()).setIncarnation(engine.incarnation()).build().toByteArray()));
      receive(peer, hello, staging);
      log.info("transfer {} from {} ({}) complete", hello.getTransferId(), peer.peer(), subject);
    } catch (TransferException | IOException | RegistryException
        | IllegalArgumentException e) {
      log.warn("transfer {} from {} failed, its copy deleted: {}", hello.getTransferId(),
          peer.peer(), e.getMessage());
      peer.refuse(e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      peer.close();
    } finally {
      if (staging != null) {
        staging.delete();
      }
      slots.release();
    }
    peer.close();
  }

  private static TransferHello parse(Frame f) throws TransferException {
    try {
      return TransferHello.parseFrom(f.payload());
    } catch (InvalidProtocolBufferException e) {
      throw new TransferException("malformed HELLO: " + e.getMessage());
    }
  }

  /** Where a transfer's images are staged. */
  private record Staging(Path luns, Path snapshots) {
    Path image(int index, TransferImage image) {
      return index == 0 ? luns.resolve("lun.img")
          : snapshots.resolve(image.getSnapshotId() + ".img");
    }

    void delete() {
      deleteTree(luns);
      deleteTree(snapshots);
    }
  }

  /** Refuses what this engine cannot or must not take; prepares the staging directories. */
  private Staging check(TransferHello h) throws TransferException, IOException {
    String id;
    try {
      id = TransferId.check(h.getTransferId());
    } catch (IllegalArgumentException e) {
      throw new TransferException(e.getMessage());
    }
    if (!h.getDestinationEngine().equals(engine.name())) {
      throw new TransferException("this is engine " + engine.name() + ", not "
          + h.getDestinationEngine());
    }
    if (h.getRegionBytes() != Frame.REGION_BYTES) {
      throw new TransferException("region size " + h.getRegionBytes() + " is not "
          + Frame.REGION_BYTES);
    }
    int n = h.getImagesCount();
    if (n == 0 || n > MAX_IMAGES) {
      throw new TransferException(n + " images: a transfer carries 1 to " + MAX_IMAGES);
    }
    for (int i = 0; i < n; i++) {
      TransferImage image = h.getImages(i);
      if (!BLOCK_SIZES.contains(image.getBlockSize()) || image.getSizeBytes() <= 0
          || image.getSizeBytes() % image.getBlockSize() != 0) {
        throw new TransferException("image " + i + ": size " + image.getSizeBytes()
            + " with block size " + image.getBlockSize() + " is not a LUN's");
      }
      boolean snapshot = !image.getSnapshotId().isEmpty();
      if (snapshot != (i > 0)) {
        throw new TransferException("image " + i + (i == 0 ? " must be the LUN"
            : " must be a snapshot"));
      }
      if (snapshot) {
        try {
          TransferId.check(image.getSnapshotId());
        } catch (IllegalArgumentException e) {
          throw new TransferException("snapshot id of image " + i + ": " + e.getMessage());
        }
      }
    }
    switch (h.getModeCase()) {
      case MOVE -> {
        MovedTarget m = h.getMove();
        if (registry.targets().stream().anyMatch(t -> t.name().equals(m.getName()))) {
          throw new TransferException("target " + m.getName() + " already exists on engine "
              + engine.name());
        }
      }
      case FILL -> {
        if (n != 1) {
          throw new TransferException("a fill carries one image");
        }
        TransferInto into = h.getFill();
        TargetRecord t = registry.getTarget(into.getTarget());
        if (t.lun(into.getLun()).isPresent()) {
          throw new TransferException("LUN " + into.getLun() + " of " + t.name()
              + " already exists");
        }
        if (into.getSizeBytes() != 0 && into.getSizeBytes() < h.getImages(0).getSizeBytes()) {
          throw new TransferException("LUN size " + into.getSizeBytes() + " is smaller than "
              + "the image's " + h.getImages(0).getSizeBytes());
        }
      }
      case MODE_NOT_SET -> throw new TransferException("HELLO names neither a move nor a fill");
    }
    registry.requireRoom(h.getAllocatedBytes(), "the transfer needs " + h.getAllocatedBytes());
    Staging s = new Staging(registry.lunDir().resolve(STAGING).resolve(id),
        registry.snapshotDir().resolve(STAGING).resolve(id));
    if (Files.exists(s.luns()) || Files.exists(s.snapshots())) {
      throw new TransferException("transfer " + id + " is already being received");
    }
    Files.createDirectories(s.luns());
    Files.createDirectories(s.snapshots());
    return s;
  }

  private void receive(FrameChannel peer, TransferHello h, Staging staging)
      throws TransferException, IOException, InterruptedException {
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < h.getImagesCount(); i++) {
      TransferImage image = h.getImages(i);
      Path file = staging.image(i, image);
      LunConfig config = stagingConfig(h, i, file);
      try (LogicalUnit unit = LogicalUnit.create(config)) {
        byte[] theirs = receiveImage(peer, i, unit, image.getSizeBytes());
        files.add(file);
        boolean last = i == h.getImagesCount() - 1;
        unit.close();
        if (last) {
          adopt(h, files);
        }
        peer.send(Frame.of(FrameType.DONE_ACK, i, 0, doneAck(true, theirs)));
      }
    }
  }

  /** A staged image's file definition (the identity of a staged snapshot or fill is unused). */
  private static LunConfig stagingConfig(TransferHello h, int index, Path file) {
    TransferImage image = h.getImages(index);
    long size = image.getSizeBytes();
    boolean thin = true;
    LunIdentity.Identity id = LunIdentity.next(Set.of(), Set.of());
    if (index == 0 && h.hasMove()) {
      thin = h.getMove().getThin();
      id = LunIdentity.checked(new LunIdentity.Identity(h.getMove().getIdentity().getSerial(),
          h.getMove().getIdentity().getNaa()));
    } else if (h.hasFill()) {
      thin = !h.getFill().getThick();
      size = Math.max(size, h.getFill().getSizeBytes());
    }
    return new LunConfig(file, size, image.getBlockSize(), thin, false, id.serial(),
        java.util.HexFormat.of().parseHex(id.naa()));
  }

  /** Receives one image's regions up to its DONE; returns the content hash both agree on. */
  private byte[] receiveImage(FrameChannel peer, int index, LogicalUnit unit, long size)
      throws TransferException, IOException, InterruptedException {
    int regions = RegionMap.count(size);
    TreeMap<Integer, byte[]> held = new TreeMap<>();
    ByteBuffer readBack = ByteBuffer.allocate(Frame.REGION_BYTES);
    int last = -1;
    while (true) {
      Frame f = peer.receive(FRAME_TIMEOUT);
      requireImage(f, index);
      if (f.type() == FrameType.DONE) {
        byte[] mine = RegionHashes.content(held);
        if (!Arrays.equals(mine, f.payload())) {
          peer.send(Frame.of(FrameType.DONE_ACK, index, 0, doneAck(false, mine)));
          throw new TransferException("image " + index + ": content hash "
              + TransferSource.hex(mine) + " here differs from the source's "
              + TransferSource.hex(f.payload()));
        }
        return mine;
      }
      if (f.type() != FrameType.REGION_HASHES) {
        throw new TransferException("sent " + f.type() + " where REGION_HASHES or DONE was "
            + "expected");
      }
      byte[] p = f.payload();
      if (p.length == 0 || p.length % Frame.HASH_ENTRY_BYTES != 0) {
        throw new TransferException("REGION_HASHES of " + p.length + " bytes");
      }
      ByteBuffer entries = ByteBuffer.wrap(p);
      TreeMap<Integer, byte[]> announced = new TreeMap<>();
      ByteBuffer want = ByteBuffer.allocate(p.length / Frame.HASH_ENTRY_BYTES * Integer.BYTES);
      while (entries.hasRemaining()) {
        int r = entries.getInt();
        byte[] hash = new byte[Frame.HASH_BYTES];
        entries.get(hash);
        if (r <= last || r >= regions) {
          throw new TransferException("image " + index + ": region " + r + " is out of order "
              + "or beyond the image's " + regions + " regions");
        }
        last = r;
        byte[] zeros = RegionHashes.zeros(RegionMap.length(size, r));
        if (Arrays.equals(hash, zeros)) {
          held.put(r, zeros); // a new image already reads zeros there
        } else {
          announced.put(r, hash);
          want.putInt(r);
        }
      }
      peer.send(Frame.of(FrameType.REGION_WANT, index, 0, Arrays.copyOf(want.array(),
          want.position())));
      for (var e : announced.entrySet()) {
        int r = e.getKey();
        Frame data = peer.expect(FrameType.REGION_DATA, FRAME_TIMEOUT);
        requireImage(data, index);
        long offset = (long) r * Frame.REGION_BYTES;
        if (data.offset() != offset || data.payload().length != RegionMap.length(size, r)) {
          throw new TransferException("image " + index + ": REGION_DATA at " + data.offset()
              + " with " + data.payload().length + " bytes, region " + r + " expected");
        }
        if (!Arrays.equals(RegionHashes.of(data.payload()), e.getValue())) {
          throw new TransferException("image " + index + ": region " + r + " arrived with "
              + "content whose SHA-256 differs from the one announced");
        }
        byte[] written = write(unit, offset, data.payload(), readBack);
        if (!Arrays.equals(written, e.getValue())) {
          throw new TransferException("image " + index + ": region " + r + " reads back "
              + "differently from what was written");
        }
        held.put(r, written);
        peer.send(Frame.of(FrameType.ACK, index, offset, written));
      }
    }
  }

  private static void requireImage(Frame f, int index) throws TransferException {
    if (f.seq() != index) {
      throw new TransferException(f.type() + " for image " + f.seq() + " while image " + index
          + " is being received");
    }
  }

  /** Writes the region's non-zero blocks, syncs, and returns the SHA-256 of it read back. */
  private static byte[] write(LogicalUnit unit, long offset, byte[] data, ByteBuffer readBack)
      throws IOException {
    int start = -1;
    for (int at = 0; at <= data.length; at += ZERO_CHECK_BYTES) {
      boolean zero = at < data.length && isZero(data, at,
          Math.min(data.length, at + ZERO_CHECK_BYTES));
      boolean end = at >= data.length;
      if (!zero && !end && start < 0) {
        start = at;
      } else if ((zero || end) && start >= 0) {
        unit.write(offset + start, ByteBuffer.wrap(data, start, Math.min(at, data.length)
            - start), false);
        start = -1;
      }
    }
    unit.flush();
    readBack.clear().limit(data.length);
    unit.read(offset, readBack);
    return RegionHashes.of(readBack.flip());
  }

  private static boolean isZero(byte[] b, int from, int to) {
    return Arrays.mismatch(b, from, to, new byte[to - from], 0, to - from) < 0;
  }

  private static byte[] doneAck(boolean equal, byte[] hash) {
    byte[] p = new byte[1 + Frame.HASH_BYTES];
    p[0] = (byte) (equal ? 1 : 0);
    System.arraycopy(hash, 0, p, 1, Frame.HASH_BYTES);
    return p;
  }

  /** Hands the staged images to the registry (one commit). */
  private void adopt(TransferHello h, List<Path> files) {
    TransferImage lunImage = h.getImages(0);
    if (h.hasFill()) {
      TransferInto into = h.getFill();
      registry.adoptLun(into.getTarget(), into.getLun(), files.getFirst(),
          Math.max(lunImage.getSizeBytes(), into.getSizeBytes()), lunImage.getBlockSize(),
          !into.getThick());
      return;
    }
    MovedTarget m = h.getMove();
    ChapSecret in = null;
    ChapSecret out = null;
    try {
      if (!m.getChap().getUser().isEmpty()) {
        in = ChapPolicy.secret("initiator", m.getChap().getUser(),
            m.getChap().getSecret().toByteArray());
      }
      if (!m.getChap().getMutualUser().isEmpty()) {
        out = ChapPolicy.secret("mutual", m.getChap().getMutualUser(),
            m.getChap().getMutualSecret().toByteArray());
      }
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid("CHAP of the moved target: " + e.getMessage());
    }
    LunRecord lun = new LunRecord(m.getLun(), files.getFirst().toString(),
        lunImage.getSizeBytes(), lunImage.getBlockSize(), m.getThin(), m.getReadOnly(),
        m.getIdentity().getSerial(), m.getIdentity().getNaa());
    // the portal group tag is the receiving engine's own (the registry sets it)
    TargetRecord t = new TargetRecord(m.getName(), m.getAlias(), 0, m.getLabelsMap(),
        m.getParametersMap(), List.of(), in, out, List.of(lun));
    List<ReceivedSnapshot> snaps = new ArrayList<>();
    for (int i = 1; i < h.getImagesCount(); i++) {
      TransferImage s = h.getImages(i);
      snaps.add(new ReceivedSnapshot(s.getSnapshotId(), files.get(i), s.getSizeBytes(),
          s.getBlockSize(), s.getSnapshotCreatedUnixNanos(), s.getSnapshotLabelsMap()));
    }
    registry.adoptTarget(t, files.getFirst(), snaps);
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          log.warn("cannot delete {}: {}", p, e.toString());
        }
      });
    } catch (IOException e) {
      log.warn("cannot list {}: {}", dir, e.toString());
    }
  }
}
