package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the pool's space accounting on real LUN files in a temporary directory: provisioned bytes
 * sum every LUN the state names, allocated bytes only the open ones (a thick LUN its whole size, a
 * LUN that is not open 0), the filesystem's space is reported; a need above the free space is
 * refused with RESOURCE_EXHAUSTED naming the free bytes; an unreadable allocation counts as 0 and
 * an unreadable pool filesystem is INTERNAL.
 */
class PoolAccountingTest {

  static final String T = "iqn.2026-11.org.example:pool";
  static final long MIB = 1 << 20;

  @TempDir
  Path dir;

  private final OpenUnits units = new OpenUnits();
  private final Set<String> identities = new HashSet<>();

  @AfterEach
  void closeUnits() {
    units.closeAll();
  }

  LunRecord lun(int n, long size, boolean thin) {
    LunIdentity.Identity id = LunIdentity.next(identities, identities);
    identities.add(id.serial());
    identities.add(id.naa());
    return new LunRecord(n, dir.resolve(id.naa() + ".img").toString(), size, 512, thin, false,
        id.serial(), id.naa());
  }

  static TargetRecord target(List<LunRecord> luns) {
    return new TargetRecord(T, "", 1, Map.of(), Map.of(), List.of(), null, null, luns);
  }

  @Test
  void provisionedCountsEveryLunAllocatedOnlyOpenOnes() throws Exception {
    LunRecord thick = lun(0, 2 * MIB, false);
    LunRecord thin = lun(1, 64 * MIB, true);
    LunRecord missing = lun(2, 8 * MIB, true); // named by the state, never opened
    units.addPort(T);
    units.attach(T, 0, LogicalUnit.create(thick.toConfig()));
    units.attach(T, 1, LogicalUnit.create(thin.toConfig()));

    PoolStatus status = new PoolAccounting(dir).status(List.of(target(List.of(thick, thin,
        missing))), units, f -> true);

    assertThat(status.provisionedBytes()).isEqualTo(74 * MIB);
    // the thick LUN's blocks are allocated; the empty thin one and the missing one add nothing
    assertThat(status.allocatedBytes()).isBetween(2 * MIB, 3 * MIB);
    assertThat(status.totalBytes()).isPositive();
    assertThat(status.availableBytes()).isBetween(0L, status.totalBytes());
  }

  @Test
  void aNeedAboveTheFreeSpaceIsRefused() {
    PoolAccounting pool = new PoolAccounting(dir);
    pool.requireRoom(0, "nothing needs nothing");
    assertThatThrownBy(() -> pool.requireRoom(Long.MAX_VALUE, "LUN 7 needs everything"))
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.RESOURCE_EXHAUSTED))
        .hasMessageMatching("the pool has \\d+ bytes free, LUN 7 needs everything");
  }

  @Test
  void unreadableAllocationCountsAsZeroUnreadablePoolIsInternal() {
    assertThat(PoolAccounting.allocated(dir.resolve("no-such.img"))).isZero();
    PoolAccounting gone = new PoolAccounting(dir.resolve("no-such-dir"));
    assertThatThrownBy(gone::usableBytes)
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INTERNAL))
        .hasMessageContaining("cannot read the pool's filesystem");
    assertThatThrownBy(() -> gone.status(List.of(), units, f -> true))
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INTERNAL));
  }
}
