package org.iscsicsi.target;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libiscsi's conformance suite {@code iscsi-test-cu} (Debian package libiscsi-bin) against the real
 * engine ({@link ConformanceTarget}: a {@link org.iscsicsi.target.engine.TargetEngine} on an
 * ephemeral port with a thin, file-backed 16 MiB LUN, and a read-only one for the ReadOnly suite).
 * Pins that the families SCSI and iSCSI finish with 0 failed tests and prints the passed / failed /
 * skipped counts and every test libiscsi skipped, with its reason. The results are exact: each
 * family runs the number of tests README states, and the tests libiscsi skips by itself are exactly
 * those of {@code libiscsi-expected-skips.txt}, so a test that starts skipping (a feature lost) or
 * starts running fails here.
 *
 * <p>The LUN is kept below 65536 blocks: WriteSame16.Unmap writes 65536 blocks in one WRITE(16)
 * on bigger LUNs, ignoring the Block Limits page's MAXIMUM TRANSFER LENGTH (8 MiB here).
 */
class LibiscsiConformanceTest {

  private static final Path TOOL = Path.of("/usr/bin/iscsi-test-cu");
  private static final String EXPECTED_SKIPS = "libiscsi-expected-skips.txt";
  /** Tests in each family of Debian bookworm's libiscsi-bin (1.19), as README's table states. */
  private static final int SCSI_TESTS = 215;
  private static final int ISCSI_TESTS = 15;
  private static final Pattern SUMMARY = Pattern.compile(
      "^\\s*tests\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)", Pattern.MULTILINE);
  private static final Pattern TEST_LINE = Pattern.compile("^\\s+Test: (\\S+) \\.\\.\\.(.*)$");

  @TempDir
  static Path dir;
  static ConformanceTarget target;

  @BeforeAll
  static void start() throws Exception {
    assertThat(TOOL).as("iscsi-test-cu (Debian package libiscsi-bin)").isExecutable();
    target = new ConformanceTarget(dir, 0, 16L << 20);
  }

  @AfterAll
  static void stop() {
    if (target != null) {
      target.close();
    }
  }

  /** SCSI: 215 tests, 0 failed, libiscsi's own skips exactly the expected ones. */
  @Test
  void scsiFamily() throws Exception {
    assertExact("SCSI", 0, SCSI_TESTS, expectedSkips("SCSI."));
  }

  /** iSCSI: 15 tests, all exercised, 0 failed. */
  @Test
  void iscsiFamily() throws Exception {
    assertExact("iSCSI", 0, ISCSI_TESTS, expectedSkips("iSCSI."));
  }

  /** The read-only tests need a write-protected LUN: LUN 1 (libiscsi skips them on LUN 0). */
  @Test
  void readOnlyOnAWriteProtectedLun() throws Exception {
    String output = assertExact("SCSI.ReadOnly", 1, 1, Set.of());
    assertThat(skipped(output, "SCSI").getOrDefault("SCSI.ReadOnly.ReadOnlySBC", ""))
        .as("ReadOnly ran on the read-only LUN").doesNotContain("not write-protected");
  }

  private static Set<String> expectedSkips(String familyPrefix) throws IOException {
    try (var in = LibiscsiConformanceTest.class.getResourceAsStream("/" + EXPECTED_SKIPS)) {
      assertThat(in).as(EXPECTED_SKIPS + " on the test class path").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
          .map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#") && l.startsWith(familyPrefix))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private String assertExact(String family, int lun, int tests, Set<String> skips)
      throws Exception {
    String output = run(family, lun);
    Matcher m = SUMMARY.matcher(output);
    assertThat(m.find()).as("CUnit run summary in:\n" + tail(output)).isTrue();
    int ran = Integer.parseInt(m.group(2));
    int passed = Integer.parseInt(m.group(3));
    int failed = Integer.parseInt(m.group(4));
    Map<String, String> skipped = skipped(output, family.split("\\.")[0]);
    System.out.printf("libiscsi %s: ran %d, passed %d (of which skipped by libiscsi %d), "
        + "failed %d%n", family, ran, passed, skipped.size(), failed);
    skipped.forEach((test, why) -> System.out.printf("  skipped %s: %s%n", test, why));
    assertThat(failed).as(family + " failures:\n" + failures(output)).isZero();
    assertThat(ran).as(family + " tests run").isEqualTo(tests);
    assertThat(new TreeSet<>(skipped.keySet())).as(family + " tests libiscsi skipped by itself "
        + "(" + EXPECTED_SKIPS + ")").isEqualTo(skips);
    return output;
  }

  private static String run(String family, int lun) throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, "iscsi-test-cu-" + family, ".log");
    Process p = new ProcessBuilder(TOOL.toString(), "--dataloss", "--test=" + family,
        "-i", ConformanceTarget.INITIATORS.get(0), "-I", ConformanceTarget.INITIATORS.get(1),
        // the same LUN a second time: the MultipathIO tests use it as a second path
        target.url(lun), target.url(lun))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    p.getOutputStream().close();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("iscsi-test-cu --test=" + family + " did not finish in 10 min:\n"
          + tail(Files.readString(log, StandardCharsets.UTF_8)));
    }
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  /** Tests whose output says "[SKIPPED]": libiscsi decided the target lacks a feature. */
  static Map<String, String> skipped(String output, String family) {
    Map<String, String> skipped = new LinkedHashMap<>();
    String suite = "";
    String test = null;
    for (String line : output.split("\n")) {
      if (line.startsWith("Suite: ")) {
        suite = line.substring(7).trim();
        continue;
      }
      Matcher t = TEST_LINE.matcher(line);
      if (t.matches()) {
        test = family + "." + suite + "." + t.group(1);
        line = t.group(2);
      }
      int at = line.indexOf("[SKIPPED]");
      if (test != null && at >= 0 && !skipped.containsKey(test)) {
        skipped.put(test, line.substring(at + 9).trim());
      }
    }
    return skipped;
  }

  private static String failures(String output) {
    StringBuilder sb = new StringBuilder();
    String suite = "";
    for (String line : output.split("\n")) {
      if (line.startsWith("Suite: ")) {
        suite = line;
      } else if (line.contains("FAILED") || line.matches("^\\s+\\d+\\. .*")) {
        sb.append(suite).append(" | ").append(line.trim()).append('\n');
      }
    }
    return sb.toString();
  }

  private static String tail(String s) {
    List<String> lines = s.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }
}
