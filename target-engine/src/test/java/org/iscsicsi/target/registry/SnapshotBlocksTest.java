package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.registry.TargetRegistryTest.expect;
import static org.iscsicsi.target.registry.TargetRegistryTest.lun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the block metadata of snapshots on real sparse files: a snapshot's allocated ranges are
 * exactly the ranges written (block-aligned, adjacent ones merged), a delta between two
 * snapshots of one LUN is exactly the blocks whose contents changed (a rewrite with the same bytes
 * is no change, a block grown by an expansion is one where it holds data), answers page by
 * starting offset, and bad requests get their reasons.
 */
class SnapshotBlocksTest {

  static final String T = "iqn.2026-11.org.example:t";
  static final String OTHER = "iqn.2026-11.org.example:other";
  static final int KB = 1 << 10;
  static final int MB = 1 << 20;

  @TempDir
  Path dir;

  OpenRegistry opened;
  TargetRegistry reg;

  @BeforeEach
  void open() throws IOException {
    opened = OpenRegistry.in(dir);
    reg = opened.registry();
    reg.createTarget(T, "", Map.of(), Map.of());
    reg.createLun(lun(T, 0, 8 * MB));
  }

  @AfterEach
  void close() throws IOException {
    opened.close();
  }

  private LogicalUnit unit() {
    return opened.unit(T, 0);
  }

  private void write(long offset, int length, int value) throws IOException {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    unit().write(offset, ByteBuffer.wrap(b), true);
  }

  private static List<String> ranges(TargetRegistry.SnapshotBlockList l) {
    return l.ranges().stream().map(r -> r[0] + "+" + r[1]).toList();
  }

  @Test
  void allocatedRangesAreTheWrittenOnes() throws Exception {
    write(0, 4 * KB, 1);
    write(MB, 8 * KB, 2);
    write(MB + 8 * KB, 4 * KB, 3); // touches the previous range: merged
    write(5 * MB, 4 * KB, 4);
    reg.createSnapshot("s1", T, 0, Map.of());
    TargetRegistry.SnapshotBlockList all = reg.snapshotBlocks("", "s1", 0, 100);
    assertThat(all.sizeBytes()).isEqualTo(8 * MB);
    assertThat(all.blockSize()).isEqualTo(512);
    assertThat(ranges(all)).containsExactly("0+4096", MB + "+12288", 5 * MB + "+4096");
    // Paging: one range per answer, continuing from the end of the last.
    assertThat(ranges(reg.snapshotBlocks("", "s1", 0, 1))).containsExactly("0+4096");
    assertThat(ranges(reg.snapshotBlocks("", "s1", 4096, 1))).containsExactly(MB + "+12288");
    assertThat(ranges(reg.snapshotBlocks("", "s1", MB + 12288, 5)))
        .containsExactly(5 * MB + "+4096");
    // A caller asking for more ranges than an answer carries gets the capped answer.
    assertThat(ranges(reg.snapshotBlocks("", "s1", 0, Integer.MAX_VALUE))).hasSize(3);
  }

  @Test
  void aDeltaIsExactlyTheBlocksWhoseContentsChanged() throws Exception {
    write(0, 4 * KB, 1);
    write(MB, 4 * KB, 2);
    reg.createSnapshot("s1", T, 0, Map.of());
    write(0, 512, 9);            // one block changed
    write(MB, 4 * KB, 2);        // rewritten with the same bytes: no change
    write(3 * MB, 4 * KB, 5);    // new data where s1 had a hole
    write(3 * MB + 4 * KB, 512, 6);
    reg.createSnapshot("s2", T, 0, Map.of());
    assertThat(ranges(reg.snapshotBlocks("s1", "s2", 0, 100)))
        .containsExactly("0+512", 3 * MB + "+4608");
    assertThat(ranges(reg.snapshotBlocks("s1", "s2", 512, 100)))
        .containsExactly(3 * MB + "+4608");
    assertThat(ranges(reg.snapshotBlocks("s1", "s2", 0, 1))).containsExactly("0+512");
    assertThat(ranges(reg.snapshotBlocks("s2", "s2", 0, 100))).isEmpty();

    // An expansion: the grown blocks count where they hold data.
    reg.resizeLun(T, 0, 16 * MB);
    write(12 * MB, 4 * KB, 7);
    reg.createSnapshot("s3", T, 0, Map.of());
    assertThat(ranges(reg.snapshotBlocks("s2", "s3", 0, 100)))
        .containsExactly(12 * MB + "+4096");
    assertThat(reg.snapshotBlocks("s2", "s3", 0, 100).sizeBytes()).isEqualTo(16 * MB);
  }

  @Test
  void badRequestsGetTheirReasons() {
    reg.createSnapshot("s1", T, 0, Map.of());
    reg.createTarget(OTHER, "", Map.of(), Map.of());
    reg.createLun(lun(OTHER, 0, 8 * MB));
    reg.createSnapshot("o1", OTHER, 0, Map.of());
    expect(Reason.NOT_FOUND, "snapshot nope does not exist",
        () -> reg.snapshotBlocks("", "nope", 0, 10));
    expect(Reason.NOT_FOUND, "snapshot nope does not exist",
        () -> reg.snapshotBlocks("nope", "s1", 0, 10));
    expect(Reason.INVALID_ARGUMENT, "different LUNs", () -> reg.snapshotBlocks("o1", "s1", 0,
        10));
    expect(Reason.OUT_OF_RANGE, "outside snapshot s1",
        () -> reg.snapshotBlocks("", "s1", 8 * MB, 10));
    expect(Reason.OUT_OF_RANGE, "outside snapshot s1",
        () -> reg.snapshotBlocks("", "s1", -1, 10));
    expect(Reason.INVALID_ARGUMENT, "must be positive", () -> reg.snapshotBlocks("", "s1", 0, 0));
    // Nothing was left registered as reading: the snapshots can be deleted.
    reg.deleteSnapshot("s1");
    reg.deleteSnapshot("o1");
  }
}
