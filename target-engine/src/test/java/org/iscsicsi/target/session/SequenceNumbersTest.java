package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Pins the CmdSN window of RFC 7143 section 4.2.2.1 as the connection applies it: commands inside
 * [ExpCmdSN, MaxCmdSN] move ExpCmdSN on, others are ignored, immediate ones always pass; the window
 * narrows while tasks are outstanding but MaxCmdSN never moves back; serial arithmetic holds
 * across the 2^32 wrap; StatSN starts at the initiator's ExpStatSN and advances only on demand.
 */
class SequenceNumbersTest {

  private final AtomicInteger outstanding = new AtomicInteger();
  private final SequenceNumbers numbers = new SequenceNumbers(4, outstanding::get);

  @Test
  void commandsInsideTheWindowAdvanceExpCmdSnOthersAreIgnored() {
    numbers.restartWindow(10);
    assertThat(numbers.maxCmdSn()).isEqualTo(13);
    assertThat(numbers.accept(false, 9)).isFalse();
    assertThat(numbers.accept(false, 10)).isTrue();
    assertThat(numbers.expCmdSn()).isEqualTo(11);
    assertThat(numbers.maxCmdSn()).isEqualTo(14);
    assertThat(numbers.accept(false, 15)).isFalse();
    assertThat(numbers.accept(true, 99)).isTrue(); // immediate: taken, ExpCmdSN unchanged
    assertThat(numbers.expCmdSn()).isEqualTo(11);
    assertThat(numbers.inWindow(14)).isTrue();
    assertThat(numbers.inWindow(10)).isFalse();
  }

  @Test
  void outstandingTasksNarrowTheWindowWhichNeverMovesBack() {
    numbers.restartWindow(0);
    outstanding.set(3);
    // 3 of 4 slots taken: the window would end at 0, but 3 was advertised and stays
    assertThat(numbers.maxCmdSn()).isEqualTo(3);
    for (int sn = 0; sn <= 3; sn++) {
      assertThat(numbers.accept(false, sn)).isTrue();
    }
    assertThat(numbers.maxCmdSn()).isEqualTo(4); // one slot open past ExpCmdSN 4
    outstanding.set(0);
    assertThat(numbers.maxCmdSn()).isEqualTo(7);
  }

  @Test
  void serialArithmeticAcrossTheWrap() {
    numbers.restartWindow(-2);
    assertThat(numbers.maxCmdSn()).isEqualTo(1);
    for (int sn : new int[] {-2, -1, 0, 1}) {
      assertThat(numbers.accept(false, sn)).isTrue();
    }
    assertThat(numbers.expCmdSn()).isEqualTo(2);
    assertThat(numbers.accept(false, -1)).isFalse();
  }

  @Test
  void statSnStartsAtExpStatSnAndAdvancesOnlyOnDemand() {
    numbers.startStatSn(41);
    assertThat(numbers.statSn()).isEqualTo(41);
    assertThat(numbers.nextStatSn()).isEqualTo(41);
    assertThat(numbers.statSn()).isEqualTo(42);
    assertThat(numbers.newTtt()).isEqualTo(1);
    assertThat(numbers.newTtt()).isEqualTo(2);
  }
}
