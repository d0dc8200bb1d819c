package org.iscsicsi.target.registry;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.registry.TargetRegistryTest.expect;
import static org.iscsicsi.target.registry.TargetRegistryTest.lun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.SnapshotRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins snapshot groups on real LUN files: the members are one instant across LUNs (a writer that
 * always writes LUN a before LUN b never finds b ahead of a, or a more than one write ahead, in a
 * group taken while it runs), all members are recorded in one state write that survives a
 * restart, a retry returns the same group, and bad groups are refused before anything is copied.
 */
class SnapshotGroupTest {

  static final String A = "iqn.2026-11.org.example:a";
  static final String B = "iqn.2026-11.org.example:b";
  static final int MB = 1 << 20;

  @TempDir
  Path dir;

  OpenRegistry opened;
  TargetRegistry reg;

  @BeforeEach
  void open() throws IOException {
    opened = OpenRegistry.in(dir);
    reg = opened.registry();
  }

  @AfterEach
  void close() throws IOException {
    opened.close();
  }

  private LogicalUnit unit(String target, int lun) {
    return opened.unit(target, lun);
  }

  private void twoLuns() {
    reg.createTarget(A, "", Map.of(), Map.of());
    reg.createTarget(B, "", Map.of(), Map.of());
    reg.createLun(lun(A, 0, 64 * MB));
    reg.createLun(lun(B, 0, 64 * MB));
  }

  private static SnapshotRequest member(String id, String target) {
    return new SnapshotRequest(id, target, 0, Map.of("group", "g1"));
  }

  private static long sequence(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer b = ByteBuffer.allocate(Long.BYTES);
      ch.read(b, 0);
      return b.flip().getLong();
    }
  }

  @Test
  void aGroupIsOneInstantAcrossItsLunsWhileWritesGoOn() throws Exception {
    twoLuns();
    // Data to copy, so that a copy takes long enough for the writer to move on meanwhile.
    byte[] fill = new byte[MB];
    for (int i = 1; i < 24; i++) {
      unit(A, 0).write((long) i * MB, ByteBuffer.wrap(fill), false);
      unit(B, 0).write((long) i * MB, ByteBuffer.wrap(fill), false);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong written = new AtomicLong();
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<?> writes = writer.submit(() -> {
      for (long seq = 1; !stop.get(); seq++) {
        ByteBuffer v = ByteBuffer.allocate(Long.BYTES).putLong(0, seq);
        unit(A, 0).write(0, v.duplicate(), false);
        unit(B, 0).write(0, v.duplicate(), false);
        written.set(seq);
      }
      return null;
    });
    try {
      for (int round = 0; round < 12; round++) {
        List<SnapshotRecord> group = reg.createSnapshotGroup(List.of(
            member("ga-" + round, A), member("gb-" + round, B)));
        long a = sequence(Path.of(group.get(0).file()));
        long b = sequence(Path.of(group.get(1).file()));
        assertThat(a - b).as("round %d: a=%d b=%d", round, a, b).isBetween(0L, 1L);
        assertThat(group.get(0).createdUnixNanos()).isEqualTo(group.get(1).createdUnixNanos());
      }
    } finally {
      stop.set(true);
      writes.get();
      writer.shutdown();
    }
    assertThat(written.get()).as("the writer ran between the groups").isGreaterThan(12);
  }

  @Test
  void membersAreRecordedTogetherSurviveARestartAndARetryReturnsThem() throws Exception {
    twoLuns();
    unit(A, 0).write(0, ByteBuffer.wrap("alpha".getBytes(UTF_8)), true);
    unit(B, 0).write(0, ByteBuffer.wrap("beta".getBytes(UTF_8)), true);
    List<SnapshotRecord> group = reg.createSnapshotGroup(List.of(member("s-a", A),
        member("s-b", B)));
    assertThat(group).extracting(SnapshotRecord::id).containsExactly("s-a", "s-b");
    assertThat(group.get(1).labels()).containsEntry("group", "g1");
    assertThat(new String(Files.readAllBytes(Path.of(group.get(1).file())), 0, 4, UTF_8))
        .isEqualTo("beta");

    close();
    open();
    assertThat(reg.listSnapshots("", null, 0)).containsExactlyInAnyOrderElementsOf(group);
    assertThat(reg.createSnapshotGroup(List.of(member("s-a", A), member("s-b", B))))
        .isEqualTo(group);
  }

  @Test
  void badGroupsAreRefusedAndCopyNothing() {
    twoLuns();
    expect(Reason.INVALID_ARGUMENT, "at least one member", () -> reg.createSnapshotGroup(
        List.of()));
    expect(Reason.INVALID_ARGUMENT, "appears twice", () -> reg.createSnapshotGroup(
        List.of(member("x", A), member("x", B))));
    expect(Reason.INVALID_ARGUMENT, "appears twice", () -> reg.createSnapshotGroup(
        List.of(member("x", A), member("y", A))));
    expect(Reason.INVALID_ARGUMENT, "snapshot id 'a/b'", () -> reg.createSnapshotGroup(
        List.of(member("a/b", A))));
    expect(Reason.NOT_FOUND, "", () -> reg.createSnapshotGroup(
        List.of(member("x", A), new SnapshotRequest("y", B, 9, Map.of()))));
    assertThat(reg.listSnapshots("", null, 0)).isEmpty();

    reg.createSnapshot("lone", A, 0, Map.of());
    expect(Reason.ALREADY_EXISTS, "the other members do not", () -> reg.createSnapshotGroup(
        List.of(member("lone", A), member("new", B))));
    expect(Reason.ALREADY_EXISTS, "for another LUN", () -> reg.createSnapshotGroup(
        List.of(member("lone", B))));
    assertThat(reg.listSnapshots("", null, 0)).extracting(SnapshotRecord::id)
        .containsExactly("lone");
  }
}
