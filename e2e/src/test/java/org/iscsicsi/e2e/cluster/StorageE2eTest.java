package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import org.iscsicsi.node.vm.QemuVm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Kubernetes' own storage e2e suite (test/e2e/storage/external, built by
 * e2e/cluster/build-storage-e2e.sh at the cluster's release) against the driver as users run it:
 * the control plane of start.sh {@code --kubelet}, the VM node with kubelet, containerd and the
 * node plugin ({@link VmNode}), and e2e/cluster/storage-e2e/testdriver.yaml saying what the
 * driver offers. Pins that every spec of {@link #FOCUS} passes and that each of them ran (a
 * pattern that stops matching fails here instead of passing empty): the suite's pods write and
 * read ext4, xfs and raw block volumes, restore snapshots and clones, see online expansion,
 * write and verify files of several sizes, and a volume of the wrong mode is refused; in the
 * long tier they also keep two volumes' data over a pod's re-creation and get the fsGroup
 * applied.
 *
 * <p>CI runs {@link #FOCUS}; the on-demand tier ({@code -Discsi.long=true}) also runs
 * {@link #LONG_FOCUS} on the same cluster; {@code -Discsi.storageE2e.focus=REGEX} runs another
 * set instead of FOCUS (for example {@code External.Storage} for every pattern the driver's
 * capabilities enable, hours under software emulation). Needs qemu and the binaries of
 * build.sh, build-node.sh, vm-node.sh and build-storage-e2e.sh: skipped with a reason when
 * they are not there.
 */
class StorageE2eTest {

  /**
   * The specs CI runs, each one to two minutes under software emulation (ginkgo matches them
   * against the spec's text, without its labels). Not in it: specs whose pods need images other
   * than busybox (the exec pattern's nginx; agnhost, which the hostexec pods of "volumeMode
   * should not mount / map unused volumes" run), since the VM node has no registry.
   */
  static final List<String> FOCUS = List.of(
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\] volumes should store data",
      "\\[Testpattern: Dynamic PV \\(xfs\\)\\] volumes should store data",
      "\\[Testpattern: Dynamic PV \\(block volmode\\)\\] volumes should store data",
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\] provisioning should provision storage "
          + "with snapshot data source \\[Feature",
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\] provisioning should provision storage "
          + "with pvc data source$",
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\(allowExpansion\\)\\] volume-expand "
          + "should resize volume when PVC is edited while pod is using it",
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\] volumeIO should write files of various "
          + "sizes, verify size, validate content",
      "\\[Testpattern: Dynamic PV \\(block volmode\\)\\] volumeMode should fail to use a "
          + "volume in a pod with mismatched mode");
  /**
   * The specs only the on-demand tier adds, kept out of CI for its time budget (97 s and
   * 60 s in a CI run, with their pods' re-creation, beside a second start of the suite).
   */
  static final List<String> LONG_FOCUS = List.of(
      "\\[Testpattern: Dynamic PV \\(filesystem volmode\\)\\] multiVolume should access to "
          + "two volumes with the same volume mode and retain data across pod recreation on "
          + "the same node",
      "\\[Testpattern: Dynamic PV \\(default fs\\)\\] fsgroupchangepolicy "
          + "\\(OnRootMismatch\\)\\[LinuxOnly\\], pod created with an initial fsgroup, new pod "
          + "fsgroup applied to volume contents");
  static final Duration SUITE_TIMEOUT = Duration.ofMinutes(60);

  static TestCluster cluster;
  static VmNode node;
  static Path suite;

  @BeforeAll
  static void startClusterAndNode() throws Exception {
    Path run = TestCluster.freshRun("storage-e2e-run");
    Optional<String> noVm = VmNode.unavailableReason(TestCluster.repoRoot());
    assumeTrue(noVm.isEmpty(), () -> "no VM node: " + noVm.orElse(""));
    Optional<Path> built = TestCluster.cachedBuild("build-storage-e2e.sh");
    assumeTrue(built.isPresent(), "the storage e2e suite is not built: run "
        + "e2e/cluster/build-storage-e2e.sh (about 5 minutes after build.sh)");
    suite = built.get().resolve("storage-e2e.test");
    node = VmNode.boot(VmNode.nodeDir(TestCluster.repoRoot()));
    cluster = TestCluster.startForKubelet(run,
        QemuVm.HOST_ADDRESS + ":" + TestCluster.PORTAL_PORT);
    node.join(cluster);
    assertThat(node.awaitReady(cluster, Duration.ofMinutes(10))).isEqualTo(VmNode.INITIATOR);
  }

  @AfterAll
  static void stop() throws Exception {
    VmNode.stopWith(node, cluster);
  }

  @Test
  void theSuitesSpecsPassAgainstTheDriver() throws Exception {
    String given = System.getProperty("iscsi.storageE2e.focus", "");
    runSuite(given.isBlank() ? Optional.of(FOCUS) : Optional.empty(), given);
  }

  @Test
  @Tag("long")
  void theLongTiersSpecsPassAgainstTheDriver() throws Exception {
    runSuite(Optional.of(LONG_FOCUS), "");
  }

  /**
   * Runs the suite on the specs of {@code patterns} (each must match a spec that ran), or on
   * the regular expression {@code given} when patterns is empty.
   */
  private static void runSuite(Optional<List<String>> patterns, String given) throws Exception {
    boolean subset = patterns.isPresent();
    String focus = subset ? "External.Storage \\[Driver: " + TestCluster.DRIVER + "\\].*("
        + String.join("|", patterns.get()) + ")" : given;
    Path reports = Files.createTempDirectory(cluster.run(), "storage-e2e");
    Path junit = reports.resolve("junit.xml");
    List<String> cmd = new ArrayList<>(List.of(suite.toString(),
        "-kubeconfig", cluster.kubeconfig().toString(),
        "-repo-root", TestCluster.repoRoot().toString(),
        // read while the flags are parsed, before -repo-root applies: an absolute path
        "-storage.testdriver", TestCluster.repoRoot()
            .resolve("e2e/cluster/storage-e2e/testdriver.yaml").toString(),
        "-ginkgo.focus", focus,
        "-ginkgo.skip", "\\[Disruptive\\]|\\[Serial\\]",
        "-ginkgo.junit-report", junit.toString(),
        "-ginkgo.timeout", SUITE_TIMEOUT.toMinutes() + "m",
        "-ginkgo.no-color",
        "-ginkgo.v",
        "-report-dir", reports.toString(),
        "-provider", "skeleton",
        "-node-os-distro", "debian",
        "-minStartupPods", "0",
        "-test.timeout", SUITE_TIMEOUT.plusMinutes(5).toMinutes() + "m"));
    long t0 = System.nanoTime();
    TestCluster.Result r = TestCluster.exec(cmd, SUITE_TIMEOUT.plusMinutes(10),
        List.of("KUBECONFIG=" + cluster.kubeconfig()));
    Files.writeString(reports.resolve("suite.log"), r.out() + r.err());
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(junit).as("the suite's report (its log: %s)", reports.resolve("suite.log"))
        .exists();

    List<Spec> specs = specs(junit);
    List<Spec> ran = specs.stream().filter(s -> !s.skipped()).toList();
    VolumeLifecycleTest.step("storage e2e", ran.size() + " specs of Kubernetes' suite", took);
    ran.forEach(s -> System.out.printf("storage e2e: %-6s %5.1f s  %s%n",
        s.failure() == null ? "passed" : "FAILED", s.seconds(), s.name()));
    long failed = ran.stream().filter(s -> s.failure() != null).count();
    System.out.printf("storage e2e: %d passed, %d failed, %d skipped (specs the focus left out"
        + " or the driver's capabilities rule out), in %d s%n", ran.size() - failed, failed,
        specs.size() - ran.size(), took.toSeconds());
    assertThat(ran.stream().filter(s -> s.failure() != null).map(s -> s.name() + ": "
        + s.failure()).toList()).as("failed specs (log: %s)", reports.resolve("suite.log"))
        .isEmpty();
    if (subset) {
      for (String pattern : patterns.get()) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(pattern);
        assertThat(ran).as("a spec ran for %s", pattern)
            .anyMatch(s -> p.matcher(s.text()).find());
      }
    }
    assertThat(r.exit()).as("storage-e2e.test exit (log: %s)", reports.resolve("suite.log"))
        .isZero();
  }

  /** One spec of the suite's JUnit report. */
  record Spec(String name, boolean skipped, String failure, double seconds) {
    /** The spec's text as ginkgo's focus sees it: the report's name without the labels. */
    String text() {
      return name.replaceFirst("^\\[It\\] ", "").replaceFirst(" \\[[^\\[\\]]*\\]$", "");
    }
  }

  static List<Spec> specs(Path junit) throws Exception {
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
    NodeList cases = doc.getElementsByTagName("testcase");
    List<Spec> out = new ArrayList<>();
    for (int i = 0; i < cases.getLength(); i++) {
      Element c = (Element) cases.item(i);
      String name = c.getAttribute("name");
      if (name.startsWith("[SynchronizedBeforeSuite]")
          || name.startsWith("[SynchronizedAfterSuite]") || name.startsWith("[ReportAfterSuite]")
          || name.startsWith("[BeforeSuite]") || name.startsWith("[AfterSuite]")) {
        if (c.getElementsByTagName("failure").getLength() > 0
            || c.getElementsByTagName("error").getLength() > 0) {
          out.add(new Spec(name, false, text(c), seconds(c)));
        }
        continue;
      }
      boolean skipped = c.getElementsByTagName("skipped").getLength() > 0;
      boolean failed = c.getElementsByTagName("failure").getLength() > 0
          || c.getElementsByTagName("error").getLength() > 0;
      out.add(new Spec(name, skipped, failed ? text(c) : null, seconds(c)));
    }
    return out;
  }

  private static String text(Element c) {
    NodeList f = c.getElementsByTagName("failure");
    if (f.getLength() == 0) {
      f = c.getElementsByTagName("error");
    }
    Element e = (Element) f.item(0);
    String message = e.getAttribute("message");
    return (message.isBlank() ? e.getTextContent() : message).strip();
  }

  private static double seconds(Element c) {
    String t = c.getAttribute("time");
    return t.isBlank() ? 0 : Double.parseDouble(t);
  }
}
