package org.iscsicsi.target;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;

/**
 * The real engine ({@link TargetEngine}: state directory, registry, iSCSI portal on an ephemeral
 * loopback port) set up through its admin API the way an operator would: one target with a thin
 * LUN 0 and a read-only LUN 1, granted to the conformance suite's two initiator names. {@link
 * #main} runs it by hand (port and LUN size from the arguments) for debugging single tests.
 */
final class ConformanceTarget implements AutoCloseable {

  static final String IQN = "iqn.2026-01.org.iscsicsi:conformance";
  static final List<String> INITIATORS = List.of("iqn.2026-01.org.iscsicsi:conformance-init1",
      "iqn.2026-01.org.iscsicsi:conformance-init2");

  private final TargetEngine engine;

  ConformanceTarget(Path dir, int tcpPort, long sizeBytes) throws IOException {
    engine = TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withLunDir(dir.resolve("luns")).withPortal(new HostPort("127.0.0.1", tcpPort)));
    try {
      var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(IQN).setAlias("conformance")
          .build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(IQN).setLun(0)
          .setSizeBytes(sizeBytes).build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(IQN).setLun(1)
          .setSizeBytes(sizeBytes).setReadOnly(true).build());
      for (String initiator : INITIATORS) {
        admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(IQN)
            .setInitiator(initiator).build());
      }
    } catch (RuntimeException e) {
      engine.close();
      throw e;
    }
  }

  /** LUN 0: thin, writable. LUN 1: thin, read-only. */
  String url(int lun) {
    return "iscsi://127.0.0.1:" + engine.iscsiAddress().port() + "/" + IQN + "/" + lun;
  }

  @Override
  public void close() {
    engine.close();
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("conformance");
    try (ConformanceTarget t = new ConformanceTarget(dir, Integer.parseInt(args[0]),
        Long.parseLong(args[1]))) {
      System.out.println("serving " + t.url(0));
      Thread.sleep(Long.parseLong(args.length > 2 ? args[2] : "600000"));
    } finally {
      try (var paths = Files.walk(dir)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
