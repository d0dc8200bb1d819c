package org.iscsicsi.target.fuzz;

import java.util.Map;
import java.util.TreeMap;

/**
 * What a fuzz test did, printed to stdout when it ends so that the build log shows it next to
 * libFuzzer's own summary (on stderr: executions, {@code cov:} edges and {@code ft:} features):
 * executions, inputs and how often each kind of outcome occurred, a rough measure of how much of
 * the code the fuzzer reached.
 */
public final class FuzzStatistics {

  private static final int TOP = 12;
  private final String target;
  private final Map<String, Long> outcomes = new TreeMap<>();
  private final long started = System.nanoTime();
  private long executions;
  private long units;

  public FuzzStatistics(String target) {
    this.target = target;
  }

  /** One execution of the fuzz test, which handled {@code handled} units (chunks, PDUs, CDBs). */
  public synchronized void executed(long handled) {
    executions++;
    units += handled;
  }

  /** One outcome of a handled unit (an opcode, a status, a sense code...). */
  public synchronized void outcome(String kind) {
    outcomes.merge(kind, 1L, Long::sum);
  }

  public synchronized long executions() {
    return executions;
  }

  /** Prints one summary line and one line with the most frequent outcomes. */
  public synchronized void print() {
    long millis = (System.nanoTime() - started) / 1_000_000;
    System.out.printf("fuzz: %s: executions=%d units=%d distinct-outcomes=%d in %d ms (%s)%n",
        target, executions, units, outcomes.size(), millis,
        System.getenv("JAZZER_FUZZ") == null || System.getenv("JAZZER_FUZZ").isEmpty()
            ? "regression inputs only" : "fuzzing");
    System.out.printf("fuzz: %s: most frequent outcomes %s%n", target,
        outcomes.entrySet().stream()
            .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(TOP)
            .map(e -> e.getKey() + "=" + e.getValue()).toList());
  }
}
