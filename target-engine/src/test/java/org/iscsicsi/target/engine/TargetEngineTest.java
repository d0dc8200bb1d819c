package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.cli.TargetEngineCli;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the engine's lifecycle: start, close and start again on the same state directory; a
 * second engine refused on a directory in use; a busy iSCSI or admin port, or a damaged state
 * file, fails the start with a clear message and releases everything (the directory can be used
 * right after); {@code serve} reports such failures as one line with exit status 1.
 */
class TargetEngineTest {

  static final String T = "iqn.2026-11.org.example:life";

  @TempDir
  Path dir;

  EngineConfig config() {
    return EngineConfig.of(dir.resolve("state")).withPortal(new HostPort("127.0.0.1", 0));
  }

  @Test
  void startCloseStartAgain() throws Exception {
    try (TargetEngine e = TargetEngine.start(config())) {
      var admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      assertThat(admin.getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getServing())
          .isTrue();
      assertThatThrownBy(() -> TargetEngine.start(config())).isInstanceOf(IOException.class)
          .hasMessageContaining("in use by another target engine");
    }
    try (TargetEngine e = TargetEngine.start(config())) {
      assertThat(e.directory().target(T)).isPresent();
      assertThat(e.config().lunDir()).isEqualTo(dir.resolve("state/luns").toAbsolutePath());
    }
  }

  @Test
  void busyIscsiPortFailsCleanly() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> TargetEngine.start(config().withPortal(
          new HostPort("127.0.0.1", busy.getLocalPort()))))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot listen for iSCSI on 127.0.0.1:" + busy.getLocalPort());
    }
    try (TargetEngine e = TargetEngine.start(config())) {
      assertThat(e.iscsiAddress().port()).isPositive();
    }
  }

  @Test
  void busyAdminPortFailsCleanly() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> TargetEngine.start(config().withAdmin(
          AdminAddress.tcp("127.0.0.1", busy.getLocalPort()))))
          .isInstanceOf(IOException.class);
    }
    try (TargetEngine e = TargetEngine.start(config())) {
      assertThat(e.adminTcpAddress()).isNull();
    }
  }

  @Test
  void damagedStateFileFailsWithOneLineFromServe() throws Exception {
    Files.createDirectories(dir.resolve("state"));
    Files.writeString(dir.resolve("state/state.json"), "{\"formatVersion\": 9}");
    assertThatThrownBy(() -> TargetEngine.start(config()))
        .hasMessageContaining("format version 9, this engine reads versions 1 and 2");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = TargetEngineCli.run(new String[] {"serve", "--state-dir",
        dir.resolve("state").toString(), "--portal", "127.0.0.1:0", "--admin", "none"},
        new PrintWriter(out), new PrintWriter(err));
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).startsWith("target-engine: cannot start: state file ")
        .contains("format version 9");
    assertThat(err.toString().strip().lines()).hasSize(1);
    // Nothing was overwritten.
    assertThat(Files.readString(dir.resolve("state/state.json")))
        .isEqualTo("{\"formatVersion\": 9}");
  }

  @Test
  void advertisedPortalsAreReported() throws Exception {
    try (TargetEngine e = TargetEngine.start(config().withAdvertise(java.util.List.of(
        new HostPort("192.0.2.10", 3260), new HostPort("2001:db8::1", 3260))))) {
      var info = TargetAdminGrpc.newBlockingStub(e.adminChannel())
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
      assertThat(info.getPortalsList()).containsExactly("192.0.2.10:3260", "[2001:db8::1]:3260");
    }
  }
}
