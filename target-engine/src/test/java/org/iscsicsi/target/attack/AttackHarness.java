package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.server.RawInitiator;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;

/**
 * An engine to attack: {@code bin/target-engine serve} as its own process (fresh state directory,
 * portal on 127.0.0.1 and admin API and metrics on free ports), with one CHAP-protected target
 * whose LUN is granted to a legitimate initiator. Attacks run from 127.0.0.1; the legitimate
 * initiator connects from {@link #LEGITIMATE_SOURCE} (Linux routes all of 127/8 to lo, so a
 * client socket bound there is another source address to the engine).
 *
 * <p>What each attack test checks with it: a legitimate login plus I/O during the attack still
 * completes within {@link #LEGITIMATE_BOUND} ({@link #legitimateLoginAndIo()}), and the engine's
 * heap after a full GC and its RSS ({@link #memory()}) stay within the bound the test states;
 * {@link #report} prints the figures in one fixed-format line.
 */
public final class AttackHarness implements AutoCloseable {

  public static final String TARGET = "iqn.2026-11.org.iscsicsi.attack:victim";
  public static final String LEGITIMATE = "iqn.2026-11.org.iscsicsi.attack:node-a";
  public static final String CHAP_USER = "node-a";
  /** The legitimate initiator's CHAP secret (an attacker does not know it). */
  public static final String CHAP_SECRET = "harness-chap-secret-0123";
  /** Where the legitimate initiator connects from; attackers use 127.0.0.1. */
  public static final String LEGITIMATE_SOURCE = "127.0.0.2";
  /** A legitimate login and its I/O must finish within this, whatever the attack does. */
  public static final Duration LEGITIMATE_BOUND = Duration.ofSeconds(2);
  /** The engine's heap limit in these tests, like a container memory limit would impose. */
  public static final String ENGINE_HEAP = "-Xmx256m";
  /**
   * What the engine may hold during an attack: heap in use after a full GC, and its resident set.
   * An engine that buffered what an attack sends would pass neither (the large write alone sends
   * 2 GiB) or die of OutOfMemoryError.
   */
  public static final long HEAP_BOUND_MIB = 96;
  public static final long RSS_BOUND_MIB = 512;

  private static final long LUN_BYTES = 16L << 20;
  private static final int BLOCK = 512;
  private static final int IO_BLOCKS = 4;
  private static final long MIB = 1L << 20;
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");
  private static final Pattern VM_RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");

  /** The engine's memory: heap in use after a full GC, and the resident set of the process. */
  public record MemoryFigures(long heapBytes, long rssBytes) {
    public long heapMiB() {
      return heapBytes / MIB;
    }

    public long rssMiB() {
      return rssBytes / MIB;
    }
  }

  private final Path dir;
  private final Process engine;
  private final int iscsiPort;
  private final int metricsPort;
  private final ManagedChannel channel;
  private final TargetAdminBlockingStub admin;

  private AttackHarness(Path dir, Process engine, int iscsiPort, int metricsPort,
      ManagedChannel channel) {
    this.dir = dir;
    this.engine = engine;
    this.iscsiPort = iscsiPort;
    this.metricsPort = metricsPort;
    this.channel = channel;
    this.admin = TargetAdminGrpc.newBlockingStub(channel);
  }

  /**
   * Starts an engine in {@code dir} with {@code extraArgs} added to {@code serve}, and sets up the
   * victim target: LUN 0, granted to {@link #LEGITIMATE}, CHAP {@link #CHAP_USER}.
   */
  public static AttackHarness start(Path dir, String... extraArgs) throws Exception {
    assertThat(ServeProcess.unavailableReason()).as("packaged engine").isEmpty();
    int iscsi = ServeProcess.freePort();
    int adminPort = ServeProcess.freePort();
    int metrics = ServeProcess.freePort();
    List<String> args = new ArrayList<>(List.of("--state-dir", dir.resolve("state").toString(),
        "--portal", "127.0.0.1:" + iscsi, "--admin", "127.0.0.1:" + adminPort,
        "--metrics", "127.0.0.1:" + metrics));
    args.addAll(Arrays.asList(extraArgs));
    Process engine = ServeProcess.start(args, dir.resolve("engine.log"),
        Map.of("TARGET_ENGINE_JAVA_OPTS", ENGINE_HEAP));
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", adminPort,
        InsecureChannelCredentials.create()).build();
    AttackHarness h = new AttackHarness(dir, engine, iscsi, metrics, channel);
    try {
      try {
        ServeProcess.awaitServing(h.admin, engine);
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; its log ends: " + tail(dir.resolve(
            "engine.log")), e);
      }
      h.admin.createTarget(CreateTargetRequest.newBuilder().setName(TARGET).build());
      h.admin.createLun(CreateLunRequest.newBuilder().setTarget(TARGET).setLun(0)
          .setSizeBytes(LUN_BYTES).build());
      h.admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(TARGET)
          .setInitiator(LEGITIMATE).build());
      h.admin.setChap(SetChapRequest.newBuilder().setTarget(TARGET).setUser(CHAP_USER)
          .setPassword(CHAP_SECRET).build());
      // one login before any attack, so that figures measure the attack, not JIT warm-up
      h.legitimateLoginAndIo();
    } catch (Exception | AssertionError e) {
      h.close();
      throw e;
    }
    return h;
  }

  /** The iSCSI portal's port on 127.0.0.1. */
  public int port() {
    return iscsiPort;
  }

  public TargetAdminBlockingStub admin() {
    return admin;
  }

  /** The engine's combined stdout and stderr. */
  public String log() throws IOException {
    return Files.readString(dir.resolve("engine.log"));
  }

  public boolean engineAlive() {
    return engine.isAlive();
  }

  /**
   * A logged-in session of the legitimate initiator from {@code source} (the right CHAP secret,
   * SHA-256 offered before MD5 as open-iscsi does); the caller closes it.
   */
  public RawInitiator legitimateSession(String source) throws IOException {
    RawInitiator r = new RawInitiator(source, iscsiPort);
    try {
      RawInitiator.Pdu done = r.chapLogin(LEGITIMATE, TARGET, CHAP_USER, CHAP_SECRET, "7,5");
      assertThat(RawInitiator.loginStatus(done)).as("legitimate login status").isZero();
      return r;
    } catch (IOException | AssertionError e) {
      r.close();
      throw e;
    }
  }

  /** Writes a few blocks with fresh random data and reads them back, through {@code session}. */
  public static void io(RawInitiator session) throws IOException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long lba = random.nextLong(LUN_BYTES / BLOCK - IO_BLOCKS);
    byte[][] blocks = new byte[IO_BLOCKS][BLOCK];
    for (int i = 0; i < IO_BLOCKS; i++) {
      random.nextBytes(blocks[i]);
      assertThat(session.writeBlock(lba + i, blocks[i])).as("WRITE status").isZero();
    }
    byte[] back = session.readBlocks(lba, IO_BLOCKS);
    for (int i = 0; i < IO_BLOCKS; i++) {
      assertThat(Arrays.copyOfRange(back, i * BLOCK, (i + 1) * BLOCK))
          .as("block %d read back", lba + i).isEqualTo(blocks[i]);
    }
  }

  /**
   * A fresh login of the legitimate initiator from {@link #LEGITIMATE_SOURCE}, a write and
   * read-back of a few blocks, and logout; asserts it took at most {@link #LEGITIMATE_BOUND}.
   */
  public Duration legitimateLoginAndIo() throws IOException {
    long start = System.nanoTime();
    try (RawInitiator r = legitimateSession(LEGITIMATE_SOURCE)) {
      io(r);
      r.logout(0);
      r.read();
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).as("legitimate login and I/O during the attack")
        .isLessThanOrEqualTo(LEGITIMATE_BOUND);
    return took;
  }

  /** The engine's heap after a full GC (jcmd GC.run, GC.heap_info) and RSS (/proc). */
  public MemoryFigures memory() throws IOException, InterruptedException {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    String pid = Long.toString(engine.pid());
    Exec.Result gc = Exec.run(Duration.ofSeconds(30), jcmd, pid, "GC.run");
    assertThat(gc.exit()).as(gc.output()).isZero();
    Exec.Result heap = Exec.run(Duration.ofSeconds(30), jcmd, pid, "GC.heap_info");
    assertThat(heap.exit()).as(heap.output()).isZero();
    Matcher used = HEAP_USED.matcher(heap.output());
    assertThat(used.find()).as("heap figure in %s", heap.output()).isTrue();
    Matcher rss = VM_RSS.matcher(Files.readString(Path.of("/proc", pid, "status")));
    assertThat(rss.find()).as("VmRSS of the engine").isTrue();
    return new MemoryFigures(Long.parseLong(used.group(1)) * 1024,
        Long.parseLong(rss.group(1)) * 1024);
  }

  /** The engine's Prometheus metrics text. */
  public String metrics() throws IOException, InterruptedException {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  /**
   * Asserts the engine lives and stays within {@link #HEAP_BOUND_MIB} and {@link #RSS_BOUND_MIB},
   * and prints one line per attack in a fixed format: {@code attack: <name>: refused=<n>
   * legitimate-io=<ms> heap=<MiB> rss=<MiB> (bounds <MiB>/<MiB>)}.
   */
  public void assertBoundedAndReport(String attack, long refused, Duration legitimate)
      throws IOException, InterruptedException {
    assertThat(engineAlive()).as("engine alive after " + attack).isTrue();
    MemoryFigures m = memory();
    System.out.printf("attack: %s: refused=%d legitimate-io=%d heap=%d rss=%d (bounds %d/%d)%n",
        attack, refused, legitimate.toMillis(), m.heapMiB(), m.rssMiB(), HEAP_BOUND_MIB,
        RSS_BOUND_MIB);
    assertThat(m.heapMiB()).as("heap after GC, MiB").isLessThanOrEqualTo(HEAP_BOUND_MIB);
    assertThat(m.rssMiB()).as("RSS, MiB").isLessThanOrEqualTo(RSS_BOUND_MIB);
  }

  /** Stops the engine (SIGTERM, then SIGKILL after 20 s) and closes the admin channel. */
  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    engine.destroy();
    if (!engine.waitFor(20, TimeUnit.SECONDS)) {
      engine.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The last lines of a process's log, for a failure message. */
  private static String tail(java.nio.file.Path log) {
    try {
      List<String> lines = java.nio.file.Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (java.io.IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
