package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.login.LoginPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with libiscsi's real initiator tools (package libiscsi-bin) against a real {@link
 * IscsiServer} on loopback: discovery with {@code iscsi-ls -s} lists exactly the targets the
 * initiator may access, with their portals and LUNs; {@code iscsi-inq} and {@code
 * iscsi-readcapacity16} log in and run commands, also with CRC32C header digests; CHAP and
 * mutual CHAP succeed with the right secrets and fail with a wrong one; an initiator outside the
 * ACL neither discovers nor logs in.
 */
class LibiscsiEndToEndTest {

  static final String INIT_A = "iqn.2026-11.org.iscsicsi.test:init-a";
  /** Granted only the target without CHAP, so that {@code iscsi-ls -s} can log in to all. */
  static final String INIT_LS = "iqn.2026-11.org.iscsicsi.test:lister";
  static final String INIT_OUTSIDER = "iqn.2026-11.org.iscsicsi.test:outsider";
  static final String OPEN = "iqn.2026-11.org.iscsicsi:open";
  static final String CHAP = "iqn.2026-11.org.iscsicsi:chap";
  static final String MUTUAL = "iqn.2026-11.org.iscsicsi:mutual";
  static final String HIDDEN = "iqn.2026-11.org.iscsicsi:hidden";
  /** Prefers CRC32C header digests whatever the initiator lists first. */
  static final String DIGEST = "iqn.2026-11.org.iscsicsi:digest";

  @TempDir
  static Path dir;
  static TestTargets targets;
  static IscsiServer server;
  static String portal;

  @BeforeAll
  static void start() throws Exception {
    assumeTrue(LibiscsiTools.available("iscsi-ls"), "libiscsi-bin is not installed");
    targets = new TestTargets();
    Map<String, AccessLevel> onlyA = Map.of(INIT_A, AccessLevel.READ_WRITE);
    ChapSecret alice = new ChapSecret("alice", bytes("alice-secret-12"));
    ChapSecret tgt = new ChapSecret("targetuser", bytes("target-secret-34"));
    targets.add(OPEN, Map.of(INIT_A, AccessLevel.READ_WRITE, INIT_LS, AccessLevel.READ_ONLY),
        Optional.empty(), Optional.empty(), Map.of(), dir, 64 << 20);
    targets.add(CHAP, onlyA, Optional.of(alice), Optional.empty(), Map.of(), dir, 8 << 20);
    targets.add(MUTUAL, onlyA, Optional.of(alice), Optional.of(tgt), Map.of(), dir, 8 << 20);
    targets.add(HIDDEN, Map.of("iqn.2026-11.org.iscsicsi.test:someone-else",
        AccessLevel.READ_WRITE), Optional.empty(), Optional.empty(), Map.of(), dir, 8 << 20);
    targets.add(DIGEST, onlyA, Optional.empty(), Optional.empty(),
        Map.of("HeaderDigest", "CRC32C"), dir, 8 << 20);
    server = new IscsiServer(IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
        .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(30))
        // discovery without CHAP, as before discovery authentication; LoginHardeningTest pins it
        .withLoginPolicy(LoginPolicy.defaults().withDiscoveryAuth(false)), targets);
    server.start();
    portal = "127.0.0.1:" + server.boundPort();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (targets != null) {
      targets.close();
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static LibiscsiTools.Result tool(Map<String, String> env, String... argv) throws Exception {
    return LibiscsiTools.run(env, 30, argv);
  }

  @Test
  void discoveryListsOnlyAccessibleTargetsWithPortalsAndLuns() throws Exception {
    var r = tool(Map.of(), "iscsi-ls", "-i", INIT_A, "iscsi://" + portal);
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("Target:" + OPEN + " Portal:" + portal + ",1",
        "Target:" + CHAP, "Target:" + MUTUAL).doesNotContain(HIDDEN);
    // -s logs in to each target it discovers to list its LUNs
    var luns = tool(Map.of(), "iscsi-ls", "-s", "-i", INIT_LS, "iscsi://" + portal);
    assertThat(luns.exitCode()).as(luns.output()).isZero();
    assertThat(luns.output()).doesNotContain(CHAP, MUTUAL, HIDDEN)
        .containsPattern("Target:" + OPEN + " Portal:" + portal.replace(".", "\\.")
            + ",1\\s+Lun:0\\s+Type:DIRECT_ACCESS");
  }

  @Test
  void outsiderDiscoversNothingAndCannotLogIn() throws Exception {
    var ls = tool(Map.of(), "iscsi-ls", "-i", INIT_OUTSIDER, "iscsi://" + portal);
    assertThat(ls.output()).doesNotContain("Target:");
    var inq = tool(Map.of(), "iscsi-inq", "-i", INIT_OUTSIDER,
        "iscsi://" + portal + "/" + OPEN + "/0");
    assertThat(inq.exitCode()).as(inq.output()).isNotZero();
  }

  @Test
  void inquiryAndReadCapacityThroughALogin() throws Exception {
    var inq = tool(Map.of(), "iscsi-inq", "-i", INIT_A, "iscsi://" + portal + "/" + OPEN + "/0");
    assertThat(inq.exitCode()).as(inq.output()).isZero();
    assertThat(inq.output()).contains("Peripheral Device Type");
    var serial = tool(Map.of(), "iscsi-inq", "-i", INIT_A, "-e", "1", "-c", "128",
        "iscsi://" + portal + "/" + OPEN + "/0");
    assertThat(serial.exitCode()).as(serial.output()).isZero();
    assertThat(serial.output()).contains("SERIAL1");
    var cap = tool(Map.of(), "iscsi-readcapacity16", "-i", INIT_A,
        "iscsi://" + portal + "/" + OPEN + "/0");
    assertThat(cap.exitCode()).as(cap.output()).isZero();
    assertThat(cap.output()).contains("LOGICAL BLOCK LENGTH IN BYTES:512",
        "Total size:" + (64 << 20));
  }

  @Test
  void crc32cHeaderDigestsEndToEnd() throws Exception {
    String url = "iscsi://" + portal + "/" + DIGEST + "/0";
    var cap = tool(Map.of(), "iscsi-readcapacity16", "-i", INIT_A, url + "?header_digest=crc32c");
    assertThat(cap.exitCode()).as(cap.output()).isZero();
    assertThat(cap.output()).contains("Total size:" + (8 << 20));
    // libiscsi's default offer (None,CRC32C) also ends up with CRC32C on this target
    var inq = tool(Map.of(), "iscsi-inq", "-i", INIT_A, url);
    assertThat(inq.exitCode()).as(inq.output()).isZero();
  }

  @Test
  void chapSucceedsWithTheRightSecretOnly() throws Exception {
    var ok = tool(Map.of(), "iscsi-inq", "-i", INIT_A,
        "iscsi://alice%alice-secret-12@" + portal + "/" + CHAP + "/0");
    assertThat(ok.exitCode()).as(ok.output()).isZero();
    var wrong = tool(Map.of(), "iscsi-inq", "-i", INIT_A,
        "iscsi://alice%wrong-secret-99@" + portal + "/" + CHAP + "/0");
    assertThat(wrong.exitCode()).as(wrong.output()).isNotZero();
    var none = tool(Map.of(), "iscsi-inq", "-i", INIT_A,
        "iscsi://" + portal + "/" + CHAP + "/0");
    assertThat(none.exitCode()).as(none.output()).isNotZero();
  }

  @Test
  void mutualChapChecksTheTargetSecretToo() throws Exception {
    String url = "iscsi://alice%alice-secret-12@" + portal + "/" + MUTUAL + "/0";
    var ok = tool(Map.of("LIBISCSI_CHAP_TARGET_USERNAME", "targetuser",
        "LIBISCSI_CHAP_TARGET_PASSWORD", "target-secret-34"), "iscsi-inq", "-i", INIT_A, url);
    assertThat(ok.exitCode()).as(ok.output()).isZero();
    var wrong = tool(Map.of("LIBISCSI_CHAP_TARGET_USERNAME", "targetuser",
        "LIBISCSI_CHAP_TARGET_PASSWORD", "not-the-target-secret"), "iscsi-inq", "-i", INIT_A,
        url);
    assertThat(wrong.exitCode()).as(wrong.output()).isNotZero();
  }
}
