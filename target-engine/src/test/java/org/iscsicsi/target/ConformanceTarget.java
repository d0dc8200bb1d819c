package org.iscsicsi.target;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.scsi.ScsiTargetPort;
import org.iscsicsi.target.scsi.TargetScsiPort;
import org.iscsicsi.target.server.IscsiServer;
import org.iscsicsi.target.server.IscsiServerConfig;

/**
 * A real {@link IscsiServer} exporting one target with a thin, file-backed LUN 0, open to every
 * initiator without CHAP: what libiscsi's conformance suite logs in to. {@link #main} runs it by
 * hand (port and size from the arguments) for debugging single tests.
 */
final class ConformanceTarget implements AutoCloseable {

  static final String IQN = "iqn.2026-01.org.iscsicsi:conformance";

  final TargetScsiPort port = new TargetScsiPort(IQN);
  final IscsiServer server;
  private final LogicalUnit unit;

  ConformanceTarget(Path dir, int tcpPort, long sizeBytes) throws IOException, InterruptedException {
    LunConfig config = new LunConfig(dir.resolve("lun0.img"), sizeBytes, 512, true, false,
        "CONF0001", HexFormat.of().parseHex("6001405c0a1b2c3d4e5f60718293a4b5"));
    unit = LogicalUnit.create(config);
    port.attach(0, unit);
    ExportedTarget target = new ExportedTarget() {
      @Override
      public String name() {
        return IQN;
      }

      @Override
      public String alias() {
        return "conformance";
      }

      @Override
      public int portalGroupTag() {
        return 1;
      }

      @Override
      public AccessLevel access(String initiatorName) {
        return AccessLevel.READ_WRITE;
      }

      @Override
      public Optional<ChapSecret> incomingChap() {
        return Optional.empty();
      }

      @Override
      public Optional<ChapSecret> outgoingChap() {
        return Optional.empty();
      }

      @Override
      public Map<String, String> loginParameters() {
        return Map.of();
      }

      @Override
      public ScsiTargetPort scsi() {
        return port;
      }
    };
    TargetDirectory directory = new TargetDirectory() {
      @Override
      public Optional<ExportedTarget> target(String name) {
        return IQN.equals(name) ? Optional.of(target) : Optional.empty();
      }

      @Override
      public List<ExportedTarget> targets() {
        return List.of(target);
      }
    };
    server = new IscsiServer(IscsiServerConfig.defaults().withBind("127.0.0.1", tcpPort)
        .withTimeouts(Duration.ofSeconds(15), Duration.ZERO), directory);
    server.start();
  }

  String url() {
    return "iscsi://127.0.0.1:" + server.boundPort() + "/" + IQN + "/0";
  }

  @Override
  public void close() throws IOException {
    server.close();
    port.detach(0);
    unit.close();
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("conformance");
    try (ConformanceTarget t = new ConformanceTarget(dir, Integer.parseInt(args[0]),
        Long.parseLong(args[1]))) {
      System.out.println("serving " + t.url());
      Thread.sleep(Long.parseLong(args.length > 2 ? args[2] : "600000"));
    } finally {
      try (var files = Files.list(dir)) {
        files.forEach(f -> f.toFile().delete());
      }
      Files.delete(dir);
    }
  }
}
