package org.iscsicsi.target.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;

/**
 * A developer aid, not a test: serves one target (LUN 0, 128 MiB) on 127.0.0.1:PORT (args[0],
 * default 13260) for any initiator until stdin closes, to poke at with libiscsi's tools.
 */
final class ManualTargetMain {

  private ManualTargetMain() {
  }

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 13260;
    Path dir = Files.createTempDirectory("iscsi-manual");
    try (TestTargets targets = new TestTargets()) {
      targets.add("iqn.2026-11.org.iscsicsi:manual", Map.of("ALL", AccessLevel.READ_WRITE),
          Optional.empty(), Optional.empty(), Map.of(), dir, 128L << 20);
      try (IscsiServer server = new IscsiServer(IscsiServerConfig.defaults()
          .withBind("127.0.0.1", port).withTimeouts(Duration.ofSeconds(10),
              Duration.ofSeconds(30)), targets)) {
        server.start();
        System.out.println("READY " + server.boundPort());
        while (System.in.read() >= 0) {
          // serve until stdin closes
        }
      }
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.delete(p);
        }
      }
      Files.delete(dir);
    }
  }
}
