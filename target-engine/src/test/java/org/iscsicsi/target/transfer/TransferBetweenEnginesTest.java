package org.iscsicsi.target.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.GetTransferRequest;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.MovedTarget;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetTransferGrpc;
import org.iscsicsi.target.v1.Transfer;
import org.iscsicsi.target.v1.TransferHello;
import org.iscsicsi.target.v1.TransferImage;
import org.iscsicsi.target.v1.TransferInto;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transfers between two real engines in this process, each with its own state directory and its
 * replication port on loopback with mutual TLS from a test CA: a 64 MiB sparse LUN with known
 * written ranges moves with its snapshot (content, holes, NAA, serial, labels and CHAP the same;
 * the destination's copy appears whole), a snapshot fills a LUN of another engine, and hostile
 * or broken peers (a certificate that is not an engine's, a region whose bytes do not match the
 * announced hash) are refused with a clear error and leave nothing on the destination. The
 * engine's bandwidth limit holds within 20 %.
 */
class TransferBetweenEnginesTest {

  private static final long MIB = 1 << 20;
  private static final long LUN_BYTES = 64 * MIB;
  private static final String IQN = "iqn.2026-11.org.iscsicsi:pool.vol1";
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** The states a transfer ends in. */
  private static final Set<String> SETTLED = Set.of("DONE", "FAILED", "CANCELLED");

  @TempDir
  Path dir;
  private TestPki ca;
  private AdminTls engineTls;
  private TargetEngine a;
  private TargetEngine b;

  @BeforeEach
  void engines() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    ca = TestPki.create(dir, "engines");
    engineTls = TestPki.tls(ca.issue(ReplicationTls.ENGINE_CN), ca);
    a = engine("engine-a", Bandwidth.DEFAULT_BYTES_PER_SECOND);
    b = engine("engine-b", Bandwidth.DEFAULT_BYTES_PER_SECOND);
  }

  private TargetEngine engine(String name, long bandwidth) throws IOException {
    return TargetEngine.start(EngineConfig.of(dir.resolve(name))
        .withPortal(new HostPort("127.0.0.1", 0))
        .withNaming(new EngineNaming(name, null, false)),
        ReplicationSettings.of(new HostPort("127.0.0.1", 0), engineTls)
            .withBandwidth(bandwidth));
  }

  @AfterEach
  void close() {
    if (b != null) {
      b.close();
    }
    if (a != null) {
      a.close();
    }
  }

  private static TargetAdminGrpc.TargetAdminBlockingStub admin(TargetEngine e) {
    return TargetAdminGrpc.newBlockingStub(e.adminChannel());
  }

  private static TargetTransferGrpc.TargetTransferBlockingStub transfers(TargetEngine e) {
    return TargetTransferGrpc.newBlockingStub(e.adminChannel());
  }

  /** A thin 64 MiB LUN on {@code e} with bytes at known offsets, holes everywhere else. */
  private Target volume(TargetEngine e, String iqn, long... offsets) throws IOException {
    admin(e).createTarget(CreateTargetRequest.newBuilder().setName(iqn).setAlias("vol one")
        .putLabels("iscsi.csi.iscsicsi.org/name", "pvc-1").build());
    admin(e).setChap(SetChapRequest.newBuilder().setTarget(iqn).setUser("pool.vol1")
        .setPassword("0123456789abcdef").setMutualUser("target-1")
        .setMutualPassword("fedcba9876543210").build());
    admin(e).createLun(CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
        .setSizeBytes(LUN_BYTES).build());
    Path file = Path.of(admin(e).getTarget(GetTargetRequest.newBuilder().setName(iqn).build())
        .getLuns(0).getPath());
    Random random = new Random(7);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      for (long offset : offsets) {
        byte[] block = new byte[64 * 1024];
        random.nextBytes(block);
        ch.write(ByteBuffer.wrap(block), offset);
      }
      ch.force(true);
    }
    return admin(e).getTarget(GetTargetRequest.newBuilder().setName(iqn).build());
  }

  /** The transfer once it has settled: DONE, FAILED or CANCELLED. */
  private static Transfer awaitSettled(TargetEngine e, String id) {
    return await("transfer " + id + " settles").atMost(WAIT).pollInterval(Duration.ofMillis(50))
        .until(() -> transfers(e).getTransfer(GetTransferRequest.newBuilder().setId(id).build()),
            t -> SETTLED.contains(t.getState()));
  }

  private StartTransferRequest move(String id) {
    return StartTransferRequest.newBuilder().setId(id)
        .setSource(LunRef.newBuilder().setTarget(IQN).setLun(0))
        .setDestinationEngine("engine-b").setDestinationAddress(b.replicationAddress())
        .setIncludeSnapshots(true).build();
  }

  /**
   * The move: content, holes, identity, alias, labels, CHAP users and the snapshot arrive; the
   * transfer reports the bytes and the content hash; a repeat of the request is the same
   * transfer; the destination's staging is empty afterwards.
   */
  @Test
  void movesASparseLunWithItsSnapshot() throws Exception {
    long[] written = {0, 10 * MIB + 4096, 40 * MIB, 41 * MIB, LUN_BYTES - 64 * 1024};
    Target source = volume(a, IQN, written);
    Snapshot snap = admin(a).createSnapshot(CreateSnapshotRequest.newBuilder().setId("snap-1")
        .setSource(LunRef.newBuilder().setTarget(IQN).setLun(0))
        .putLabels("iscsi.csi.iscsicsi.org/snapshot-name", "s1").build());
    Path sourceFile = Path.of(source.getLuns(0).getPath());
    String before = sha256(sourceFile);

    Transfer started = transfers(a).startTransfer(move("move-1"));
    assertThat(transfers(a).startTransfer(move("move-1")).getId()).isEqualTo("move-1");
    Transfer done = awaitSettled(a, "move-1");
    assertThat(done.getState()).as(done.getError()).isEqualTo("DONE");
    assertThat(started.getTotalBytes()).as("4 data regions of the LUN and 4 of the snapshot")
        .isEqualTo(8 * 4 * MIB);
    assertThat(done.getDoneBytes()).isEqualTo(done.getTotalBytes());
    assertThat(done.getContentHash().size()).isEqualTo(32);

    Target moved = admin(b).getTarget(GetTargetRequest.newBuilder().setName(IQN).build());
    assertThat(moved.getAlias()).isEqualTo("vol one");
    assertThat(moved.getLabelsMap()).isEqualTo(source.getLabelsMap());
    assertThat(moved.getChap().getUser()).isEqualTo("pool.vol1");
    assertThat(moved.getChap().getMutualUser()).isEqualTo("target-1");
    assertThat(moved.getGrantsList()).isEmpty();
    assertThat(moved.getLuns(0).getNaa()).isEqualTo(source.getLuns(0).getNaa());
    assertThat(moved.getLuns(0).getSerial()).isEqualTo(source.getLuns(0).getSerial());
    assertThat(moved.getLuns(0).getSizeBytes()).isEqualTo(LUN_BYTES);
    Path movedFile = Path.of(moved.getLuns(0).getPath());
    assertThat(sha256(movedFile)).isEqualTo(before);
    assertThat(dataBlocks(movedFile)).as("holes stay holes").isEqualTo(dataBlocks(sourceFile));
    assertThat(moved.getLuns(0).getAllocatedBytes())
        .isLessThanOrEqualTo(source.getLuns(0).getAllocatedBytes());

    List<Snapshot> snaps = admin(b).listSnapshots(ListSnapshotsRequest.newBuilder().setId(
        "snap-1").build()).getSnapshotsList();
    assertThat(snaps).hasSize(1);
    assertThat(snaps.getFirst().getLabelsMap()).isEqualTo(snap.getLabelsMap());
    assertThat(snaps.getFirst().getCreatedUnixNanos()).isEqualTo(snap.getCreatedUnixNanos());
    assertThat(snaps.getFirst().getSource().getTarget()).isEqualTo(IQN);
    assertThat(sha256(Path.of(snaps.getFirst().getPath()))).isEqualTo(sha256(
        Path.of(snap.getPath())));
    assertThat(staging(b)).isEmpty();
    // the source keeps its copy until the caller deletes it
    assertThat(sha256(sourceFile)).isEqualTo(before);
  }

  /** A snapshot fills a new LUN of an existing target elsewhere: same bytes, a new identity. */
  @Test
  void fillsALunOfAnotherEngineFromASnapshot() throws Exception {
    Target source = volume(a, IQN, 0, 20 * MIB);
    Snapshot snap = admin(a).createSnapshot(CreateSnapshotRequest.newBuilder().setId("snap-2")
        .setSource(LunRef.newBuilder().setTarget(IQN).setLun(0)).build());
    String clone = "iqn.2026-11.org.iscsicsi:pool.clone1";
    admin(b).createTarget(CreateTargetRequest.newBuilder().setName(clone).build());
    transfers(a).startTransfer(StartTransferRequest.newBuilder().setId("fill-1")
        .setSourceSnapshotId("snap-2").setDestinationEngine("engine-b")
        .setDestinationAddress(b.replicationAddress()).setInto(TransferInto.newBuilder()
            .setTarget(clone).setLun(0).setSizeBytes(2 * LUN_BYTES)).build());
    Transfer done = awaitSettled(a, "fill-1");
    assertThat(done.getState()).as(done.getError()).isEqualTo("DONE");
    Target filled = admin(b).getTarget(GetTargetRequest.newBuilder().setName(clone).build());
    assertThat(filled.getLuns(0).getSizeBytes()).isEqualTo(2 * LUN_BYTES);
    assertThat(filled.getLuns(0).getNaa()).isNotEqualTo(source.getLuns(0).getNaa());
    Path file = Path.of(filled.getLuns(0).getPath());
    assertThat(sha256(file, LUN_BYTES)).isEqualTo(sha256(Path.of(snap.getPath())));
  }

  /**
   * A destination that already holds the target refuses; the transfer is FAILED with its
   * reason and the existing target is untouched.
   */
  @Test
  void aTargetTheDestinationHoldsIsRefused() throws Exception {
    volume(a, IQN, 0);
    admin(b).createTarget(CreateTargetRequest.newBuilder().setName(IQN).setAlias("other")
        .build());
    transfers(a).startTransfer(move("move-2"));
    Transfer failed = awaitSettled(a, "move-2");
    assertThat(failed.getState()).isEqualTo("FAILED");
    assertThat(failed.getError()).contains("target " + IQN + " already exists on engine "
        + "engine-b");
    assertThat(admin(b).getTarget(GetTargetRequest.newBuilder().setName(IQN).build())
        .getAlias()).isEqualTo("other");
  }

  /** A client certificate of the engines' CA whose CN is not "engine" is refused by name. */
  @Test
  void aPeerWithAnotherCommonNameIsRefused() throws Exception {
    AdminTls controller = TestPki.tls(ca.issue("controller"), ca);
    try (ReplicationNetwork net = new ReplicationNetwork(new ReplicationTls(controller));
        FrameChannel ch = net.dial(HostPort.parse(b.replicationAddress(), 0),
            Duration.ofSeconds(10))) {
      assertThatThrownBy(() -> ch.receive(Duration.ofSeconds(10)))
          .isInstanceOf(TransferException.class)
          .hasMessageContaining("refused: certificate CN=controller is not an engine's");
    }
    assertThat(admin(b).listTargets(
        org.iscsicsi.target.v1.ListTargetsRequest.getDefaultInstance()).getTargetsCount())
        .isZero();
  }

  /**
   * A peer that sends a region whose bytes differ from the hash it announced is refused with
   * the region named, and the destination keeps neither target nor staged file.
   */
  @Test
  void aCorruptedRegionIsDetectedAndTheCopyDeleted() throws Exception {
    try (ReplicationNetwork net = new ReplicationNetwork(new ReplicationTls(engineTls));
        FrameChannel ch = net.dial(HostPort.parse(b.replicationAddress(), 0),
            Duration.ofSeconds(10))) {
      TransferHello hello = TransferHello.newBuilder().setTransferId("evil-1")
          .setDestinationEngine("engine-b").setRegionBytes(Frame.REGION_BYTES)
          .setMove(MovedTarget.newBuilder().setName(IQN).setLun(0).setThin(true)
              .setIdentity(org.iscsicsi.target.v1.LunIdentity.newBuilder()
                  .setNaa("60a49530123456789abcdef012345678").setSerial("0123456789ABCDEF")))
          .addImages(TransferImage.newBuilder().setSizeBytes(LUN_BYTES).setBlockSize(512))
          .build();
      ch.send(Frame.of(FrameType.HELLO, 0, 0, hello.toByteArray()));
      ch.expect(FrameType.HELLO_ACK, WAIT);
      byte[] region = new byte[Frame.REGION_BYTES];
      region[0] = 1;
      ByteBuffer entry = ByteBuffer.allocate(Frame.HASH_ENTRY_BYTES).putInt(3)
          .put(RegionHashes.of(region));
      ch.send(Frame.of(FrameType.REGION_HASHES, 0, 0, entry.array()));
      assertThat(ch.expect(FrameType.REGION_WANT, WAIT).payload()).containsExactly(0, 0, 0, 3);
      assertThat(staging(b)).as("staged while receiving").isNotEmpty();
      region[1] = 1; // not what was hashed
      ch.send(Frame.of(FrameType.REGION_DATA, 0, 3L * Frame.REGION_BYTES, region));
      assertThatThrownBy(() -> ch.receive(WAIT)).isInstanceOf(TransferException.class)
          .hasMessageContaining("region 3 arrived with content whose SHA-256 differs from the "
              + "one announced");
    }
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> staging(b).isEmpty());
    assertThat(admin(b).listTargets(
        org.iscsicsi.target.v1.ListTargetsRequest.getDefaultInstance()).getTargetsCount())
        .isZero();
  }

  /**
   * 40 MiB of data at a 4 MiB/s limit takes 40 MiB / 4 MiB/s, less the one region of credit the
   * bucket holds, within 20 %, from StartTransfer to DONE. The limit is low so that it, not the
   * dialogue's own pace on a busy machine, is what binds.
   */
  @Test
  void theBandwidthLimitHolds() throws Exception {
    a.close();
    long limit = 4 * MIB;
    a = engine("engine-a", limit);
    int regions = 10;
    long[] offsets = new long[regions];
    for (int r = 0; r < regions; r++) {
      offsets[r] = r * 4 * MIB;
    }
    volume(a, IQN, offsets);
    long started = System.nanoTime();
    transfers(a).startTransfer(move("slow-1").toBuilder().setIncludeSnapshots(false).build());
    Transfer done = awaitSettled(a, "slow-1");
    double seconds = (System.nanoTime() - started) / 1e9;
    assertThat(done.getState()).as(done.getError()).isEqualTo("DONE");
    assertThat(done.getDoneBytes()).isEqualTo(regions * 4 * MIB);
    double paced = (double) (done.getDoneBytes() - Frame.REGION_BYTES) / limit;
    System.out.printf("transfer: %d bytes in %.2f s at a 4 MiB/s limit (%.1f MiB/s; the limit "
        + "allows %.2f s)%n", done.getDoneBytes(), seconds, done.getDoneBytes() / seconds / MIB,
        paced);
    assertThat(seconds).isBetween(0.8 * paced, 1.2 * paced);
  }

  private static List<Path> staging(TargetEngine e) throws IOException {
    List<Path> found = new ArrayList<>();
    for (Path d : List.of(e.registry().lunDir().resolve(TransferSink.STAGING),
        e.registry().snapshotDir().resolve(TransferSink.STAGING))) {
      if (Files.isDirectory(d)) {
        try (var walk = Files.walk(d)) {
          walk.filter(Files::isRegularFile).forEach(found::add);
        }
      }
    }
    return found;
  }

  /** Offsets of the 4 KiB blocks that hold data. */
  private static List<Long> dataBlocks(Path file) throws IOException {
    List<Long> blocks = new ArrayList<>();
    try (ImageFile f = ImageFile.open(file)) {
      for (long off = 0; off < f.sizeBytes(); off += 4096) {
        if (f.hasData(off, 4096)) {
          blocks.add(off);
        }
      }
    }
    return blocks;
  }

  private static String sha256(Path file) throws IOException {
    return sha256(file, Files.size(file));
  }

  private static String sha256(Path file, long length) throws IOException {
    MessageDigest d = RegionHashes.sha256();
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      long pos = 0;
      while (pos < length) {
        buf.clear().limit((int) Math.min(buf.capacity(), length - pos));
        int n = ch.read(buf, pos);
        if (n < 0) {
          break;
        }
        pos += n;
        d.update(buf.flip());
      }
    }
    return java.util.HexFormat.of().formatHex(d.digest());
  }
}
