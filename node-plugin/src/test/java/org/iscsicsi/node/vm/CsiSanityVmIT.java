package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.iscsicsi.csi.CsiSanityBinary;
import org.iscsicsi.target.testing.ProcessReady;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * csi-sanity v5.4.0 (kubernetes-csi/csi-test, the CSI conformance suite) against the whole driver:
 * {@code controller/bin/controller serve} with its embedded target engine on the host, and the
 * real node plugin ({@code bin/node-plugin serve}) inside the qemu VM with Debian's kernel
 * initiator, reached over a forwarded TCP port. Run once with the mount and once with the block
 * access type, every volume with {@code chap=true} and the CHAP credentials passed through
 * {@code --csi.secrets} (controller-publish and node-stage secrets). It pins that every spec
 * passes, Node specs included: real discovery, CHAP login, LUN identity check, mkfs, mount by UUID,
 * bind publish, expand, stats and logout in the guest against the controller's engine.
 *
 * <p>csi-sanity creates and removes the mount and staging directories on the host with mkdir and
 * rmdir and checks target paths with stat; one host directory is shared read-write into the guest
 * over 9p at the same absolute path, so both sides see the same directories (the guest mounts on
 * top of them, which the host does not see and does not need to). That directory is the node
 * plugin's {@code --kubelet-dir}, so its path checks apply to csi-sanity's paths as to kubelet's.
 *
 * <p>csi-sanity's output and JUnit reports are kept in {@code target/csi-sanity-vm/}. csi-sanity is
 * found by {@link CsiSanityBinary} (csi-common's test jar), as the controller's CsiSanityIT does.
 */
class CsiSanityVmIT {

  /** Specs run and passed per access type, Node Service among them, and skipped (README). */
  static final int EXPECTED_RAN = 90;
  static final int EXPECTED_NODE_PASSED = 23;
  static final int EXPECTED_SKIPPED = 1;

  static final String VERSION = CsiSanityBinary.VERSION;
  private static final int CSI_PORT = ServeProcess.freePort();
  private static final int ISCSI_PORT = ServeProcess.freePort();
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-sanity";
  private static final long VOLUME_BYTES = 64L << 20;

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuControllerAndPlugin() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(Files.exists(Path.of(System.getProperty("user.dir"), "target/node-plugin.jar")),
        "node-plugin.jar not built (run with verify)");
    assumeTrue(controllerUnavailable().isEmpty(), () -> controllerUnavailable().get());
  }

  @Test
  void everySpecPassesWithTheNodePluginInTheVm() throws Exception {
    Path sanity = CsiSanityBinary.find();
    Path reports = Files.createDirectories(Path.of("target", "csi-sanity-vm").toAbsolutePath());
    // One directory both sides see at the same path: csi-sanity's mkdir/rmdir/stat on the host,
    // the node plugin's mounts in the guest.
    Path shared = Files.createDirectories(tmp.resolve("paths")).toRealPath();
    String password = "pw-" + UUID.randomUUID().toString().replace("-", "").substring(0, 13);
    Path secrets = tmp.resolve("secrets.yaml");
    Files.createFile(secrets, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    StringBuilder yaml = new StringBuilder();
    for (String key : List.of("CreateVolumeSecret", "DeleteVolumeSecret",
        "ControllerPublishVolumeSecret", "ControllerUnpublishVolumeSecret",
        "ControllerValidateVolumeCapabilitiesSecret", "NodeStageVolumeSecret",
        "NodePublishVolumeSecret", "CreateSnapshotSecret", "DeleteSnapshotSecret",
        "ControllerExpandVolumeSecret", "ListSnapshotsSecret")) {
      yaml.append(key).append(":\n  username: sanity\n  password: ").append(password)
          .append('\n');
    }
    Files.writeString(secrets, yaml);
    Path params = tmp.resolve("parameters.yaml");
    Files.writeString(params, "chap: \"true\"\n");
    Path mutable = Files.writeString(tmp.resolve("mutable-parameters.yaml"),
        CsiSanityBinary.MUTABLE_PARAMETERS);

    Path socket = tmp.resolve("controller.sock");
    Path controllerLog = reports.resolve("controller.log");
    Files.deleteIfExists(controllerLog);
    long t0 = System.nanoTime();
    Process controller = startController(socket, tmp.resolve("state"), controllerLog);
    try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(25))
        .share(shared, shared.toString(), false).hostForward(CSI_PORT, 50051)
        // csi-sanity's directories are the kubelet directory here.
        .script(NodePluginGuest.script("vm-node", "--kubelet-dir=" + shared)).start()) {
      try {
        awaitProbe(socket, controller, controllerLog);
        vm.awaitConsole("CSI server listening", Duration.ofMinutes(4));
        double bootSeconds = (System.nanoTime() - t0) / 1e9;
        assertSameDriver(socket);
        for (String accessType : List.of("mount", "block")) {
          long s = System.nanoTime();
          Result r = run(sanity, reports, accessType, socket, shared, secrets, params, mutable);
          double seconds = (System.nanoTime() - s) / 1e9;
          String line = String.format("csi-sanity %s, node plugin in the VM, %s access type: ran"
              + " %d of %d specs: %d passed (%d Node Service), %d failed, %d pending, %d skipped"
              + " in %.0f s", VERSION, accessType, r.ran, r.total, r.passed, r.nodePassed,
              r.failed, r.pending, r.skipped, seconds);
          System.out.println(line);
          r.skippedSpecs.forEach((name, why) -> System.out.printf("  skipped: %s (%s)%n", name,
              why));
          assertThat(r.failed).as("failed specs, see %s", r.output).isZero();
          // exact, as README states them: a spec that passed and now skips fails here
          assertThat(r.ran).as("specs run, see %s", r.output).isEqualTo(EXPECTED_RAN);
          assertThat(r.passed).as("passed specs, see %s", r.output).isEqualTo(EXPECTED_RAN);
          assertThat(r.nodePassed).as("passed Node Service specs, see %s", r.output)
              .isEqualTo(EXPECTED_NODE_PASSED);
          assertThat(r.skipped).as("skipped specs, see %s", r.output)
              .isEqualTo(EXPECTED_SKIPPED);
          assertThat(r.skippedSpecs.keySet()).noneMatch(n -> n.contains("Node Service"));
        }
        System.out.printf("VM start to node plugin listening %.0f s; whole run %d s%n",
            bootSeconds, (System.nanoTime() - t0) / 1_000_000_000L);
        // Every volume was a CHAP volume: the engine set incoming CHAP on its targets.
        assertThat(Files.readString(controllerLog)).contains("CHAP of iqn.");
        assertThat(vm.console()).doesNotContain(password);
        assertThat(Files.readString(controllerLog)).doesNotContain(password);
      } finally {
        Files.writeString(vm.controlDir().resolve("stop"), "");
        try {
          vm.awaitExit(Duration.ofMinutes(1));
        } finally {
          stop(controller);
        }
      }
    } finally {
      stop(controller);
    }
  }

  record Result(int ran, int total, int passed, int failed, int pending, int skipped,
      int nodePassed, Map<String, String> skippedSpecs, Path output) {}

  /** What the JUnit report adds: passed "Node Service" specs, skipped specs with reasons. */
  record Report(int nodePassed, Map<String, String> skippedSpecs) {}

  private static Result run(Path sanity, Path reports, String accessType, Path socket,
      Path shared, Path secrets, Path params, Path mutable) throws Exception {
    Path out = reports.resolve("sanity-" + accessType + ".out");
    Path junit = reports.resolve("sanity-" + accessType + ".xml");
    Path work = Files.createDirectories(shared.resolve(accessType));
    List<String> cmd = List.of(sanity.toString(),
        "--csi.endpoint=127.0.0.1:" + CSI_PORT,
        "--csi.controllerendpoint=unix://" + socket,
        "--csi.testvolumeaccesstype=" + accessType,
        "--csi.testvolumesize=" + VOLUME_BYTES,
        "--csi.testvolumeexpandsize=" + 2 * VOLUME_BYTES,
        "--csi.secrets=" + secrets,
        "--csi.testvolumeparameters=" + params,
        "--csi.testvolumemutableparameters=" + mutable,
        "--csi.mountdir=" + work.resolve("mount"),
        "--csi.stagingdir=" + work.resolve("staging"),
        "-ginkgo.no-color",
        "-ginkgo.junit-report=" + junit);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(out.toFile()).start();
    try {
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        throw new AssertionError("csi-sanity did not finish in 10 minutes; output in " + out);
      }
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
    String text = Files.readString(out);
    Matcher ran = Pattern.compile("Ran (\\d+) of (\\d+) Specs").matcher(text);
    Matcher counts = Pattern.compile(
        "(\\d+) Passed \\| (\\d+) Failed \\| (\\d+) Pending \\| (\\d+) Skipped").matcher(text);
    if (!ran.find() || !counts.find()) {
      throw new AssertionError("csi-sanity printed no summary (exit " + p.exitValue() + "):\n"
          + text);
    }
    if (Integer.parseInt(counts.group(2)) > 0) {
      System.out.println(text);
    }
    Report rep = report(junit);
    return new Result(Integer.parseInt(ran.group(1)), Integer.parseInt(ran.group(2)),
        Integer.parseInt(counts.group(1)), Integer.parseInt(counts.group(2)),
        Integer.parseInt(counts.group(3)), Integer.parseInt(counts.group(4)),
        rep.nodePassed, rep.skippedSpecs, out);
  }

  /** Passed Node specs and skipped specs (with csi-sanity's reason) from the JUnit report. */
  private static Report report(Path junit) throws Exception {
    Map<String, String> out = new TreeMap<>();
    int nodePassed = 0;
    if (!Files.exists(junit)) {
      return new Report(0, out);
    }
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
    NodeList cases = doc.getElementsByTagName("testcase");
    for (int i = 0; i < cases.getLength(); i++) {
      Element c = (Element) cases.item(i);
      NodeList s = c.getElementsByTagName("skipped");
      if (s.getLength() > 0) {
        String why = ((Element) s.item(0)).getAttribute("message");
        out.put(c.getAttribute("name"), why.isEmpty() ? "skipped" : why.replace('\n', ' '));
      } else if (c.getAttribute("name").contains("Node Service")
          && c.getElementsByTagName("failure").getLength() == 0
          && c.getElementsByTagName("error").getLength() == 0) {
        nodePassed++;
      }
    }
    return new Report(nodePassed, out);
  }

  // --- the controller on the host --------------------------------------------------------

  private static Path controllerLauncher() {
    return Path.of(System.getProperty("user.dir")).resolveSibling("controller")
        .resolve("bin/controller");
  }

  private static Optional<String> controllerUnavailable() {
    Path l = controllerLauncher();
    if (!Files.isExecutable(l)) {
      return Optional.of(l + " missing");
    }
    if (!Files.exists(l.getParent().resolveSibling("target/controller.jar"))) {
      return Optional.of("controller.jar not built (build the controller module first)");
    }
    return Optional.empty();
  }

  /**
   * {@code bin/controller serve} with its embedded engine listening on the host's loopback and
   * advertising {@code 10.0.2.2}, the address under which the guest reaches the host.
   */
  private static Process startController(Path socket, Path state, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(controllerLauncher().toString(), "serve",
        "--endpoint", "unix://" + socket, "--state-dir", state.toString(),
        "--portal", "127.0.0.1:" + ISCSI_PORT,
        "--advertise", QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    return pb.start();
  }

  private static void awaitProbe(Path socket, Process controller, Path log) throws Exception {
    ProcessReady.await("bin/controller makes its socket", controller, log,
        Duration.ofSeconds(90), () -> Files.exists(socket));
    ManagedChannel ch = Grpc.newChannelBuilder("unix://" + socket,
        InsecureChannelCredentials.create()).build();
    try {
      IdentityGrpc.newBlockingStub(ch).withWaitForReady().withDeadlineAfter(60, TimeUnit.SECONDS)
          .probe(Csi.ProbeRequest.getDefaultInstance());
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * Node plugin and controller are one driver: same name and, as the CSI spec requires of every
   * instance, the same plugin capabilities (csi-sanity reads them from the node endpoint).
   */
  private static void assertSameDriver(Path socket) {
    ManagedChannel c = Grpc.newChannelBuilder("unix://" + socket,
        InsecureChannelCredentials.create()).build();
    ManagedChannel n = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT,
        InsecureChannelCredentials.create()).build();
    try {
      var ci = IdentityGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
      var ni = IdentityGrpc.newBlockingStub(n).withDeadlineAfter(30, TimeUnit.SECONDS);
      assertThat(ni.getPluginInfo(Csi.GetPluginInfoRequest.getDefaultInstance()).getName())
          .isEqualTo(ci.getPluginInfo(Csi.GetPluginInfoRequest.getDefaultInstance()).getName());
      assertThat(ni.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest.getDefaultInstance())
          .getCapabilitiesList()).containsExactlyInAnyOrderElementsOf(
              ci.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest.getDefaultInstance())
                  .getCapabilitiesList());
    } finally {
      c.shutdownNow();
      n.shutdownNow();
    }
  }

  private static void stop(Process p) throws InterruptedException {
    if (p.isAlive()) {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
