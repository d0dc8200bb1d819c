package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.TaskAttribute;
import org.junit.jupiter.api.Test;

/**
 * The engine-wide byte budget: connections together never reserve more than it holds, even
 * though each connection's own budget always admits its first task; what a task gives back (on
 * completion or abort) is free again for any connection.
 */
class SharedByteBudgetTest {

  private static final long MIB = 1 << 20;

  private static ScsiTask task(int itt, long reservation) {
    ScsiTask t = new ScsiTask(itt, 0, 0, new byte[16], itt, (int) reservation,
        DataDirection.WRITE, TaskAttribute.SIMPLE);
    t.reservation = reservation;
    return t;
  }

  @Test
  void connectionsTogetherStayWithinTheEnginesBudget() {
    SharedByteBudget engine = new SharedByteBudget(16 * MIB);
    TaskTable first = new TaskTable(engine);
    TaskTable second = new TaskTable(engine);
    TaskTable third = new TaskTable(engine);
    ScsiTask a = task(1, 8 * MIB);
    ScsiTask b = task(2, 8 * MIB);
    ScsiTask c = task(3, 8 * MIB);

    assertThat(first.reserve(a, 64 * MIB)).isTrue();
    first.add(a);
    assertThat(second.reserve(b, 64 * MIB)).isTrue();
    second.add(b);
    // the third connection's first task fits its own budget but not the engine's
    assertThat(third.reserve(c, 64 * MIB)).isFalse();
    assertThat(engine.reserved()).isEqualTo(16 * MIB);

    first.unreserve(a);
    first.unreserve(a); // idempotent: nothing is given back twice
    assertThat(engine.reserved()).isEqualTo(8 * MIB);
    assertThat(third.reserve(c, 64 * MIB)).isTrue();
    third.add(c);
    third.abort(c);
    second.abortAll();
    assertThat(engine.reserved()).isZero();
  }

  @Test
  void aConnectionsOwnBudgetIsCheckedBeforeTheEnginesIsTaken() {
    SharedByteBudget engine = new SharedByteBudget(64 * MIB);
    TaskTable table = new TaskTable(engine);
    ScsiTask a = task(1, 6 * MIB);
    ScsiTask b = task(2, 6 * MIB);
    assertThat(table.reserve(a, 8 * MIB)).isTrue();
    table.add(a);
    assertThat(table.reserve(b, 8 * MIB)).isFalse();
    assertThat(engine.reserved()).as("a refused task takes nothing").isEqualTo(6 * MIB);
  }

  @Test
  void theDefaultFollowsTheJvmsMemoryWithinItsBounds() {
    long capacity = SharedByteBudget.forThisJvm().capacity();
    assertThat(capacity).isBetween(DataPathLimits.DEFAULTS.maxBytesInFlight(), 1L << 30);
  }
}
