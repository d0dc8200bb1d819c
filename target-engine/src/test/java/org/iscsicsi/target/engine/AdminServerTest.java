package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.admin.SocketDirectory;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's exposure: a unix socket of mode 0600 in a directory of mode 0700 the engine
 * creates (or, for a directory of its own, narrows to 0700); a socket directory others may write
 * to or that belongs to another user is refused, as are a path too long for a unix socket, a live
 * socket of another engine and a file that is not a socket, while a stale socket is replaced; TCP
 * on a non-loopback address without mutual TLS is refused, plain TCP on loopback is served; a
 * private key other users may read is refused; TLS on a unix socket is a usage error; gRPC
 * reflection answers only when asked for.
 */
class AdminServerTest {

  @TempDir
  Path dir;

  EngineConfig config(AdminListener admin) {
    return EngineConfig.of(dir.resolve("state")).withIscsi(false).withAdmin(admin);
  }

  EngineConfig config(AdminAddress admin) {
    return config(AdminListener.of(admin));
  }

  @Test
  void unixSocketIsOwnerOnlyInADirectoryTheEngineCreates() throws Exception {
    Path sock = dir.resolve("run/target-engine/admin.sock");
    try (TargetEngine e = TargetEngine.start(config(AdminAddress.unix(sock)))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock.getParent())))
          .isEqualTo("rwx------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)))
          .isEqualTo("rw-------");
      ManagedChannel ch = Grpc.newChannelBuilder("unix://" + sock,
          InsecureChannelCredentials.create()).build();
      try {
        assertThat(TargetAdminGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getVersion()).isNotEmpty();
      } finally {
        ch.shutdownNow();
      }
    }
    assertThat(sock).doesNotExist();
  }

  @Test
  void socketDirectoryWritableByOthersIsRefused() throws Exception {
    Path open = Files.createDirectory(dir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> TargetEngine.start(config(
        AdminAddress.unix(open.resolve("admin.sock")))))
        .isInstanceOf(IOException.class).hasMessageContaining("writable by other users");
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwx---"));
    assertThatThrownBy(() -> TargetEngine.start(config(
        AdminAddress.unix(open.resolve("admin.sock")))))
        .isInstanceOf(IOException.class).hasMessageContaining("writable by other users");
    assertThat(open.resolve("admin.sock")).doesNotExist();
  }

  /** A directory of the engine's own (in its state directory) is narrowed rather than refused. */
  @Test
  void claimedDirectoryIsNarrowedToTheOwner() throws Exception {
    Path own = dir.resolve("state/admin");
    SocketDirectory.claim(own);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(own)))
        .isEqualTo("rwx------");
    Files.setPosixFilePermissions(own, PosixFilePermissions.fromString("rwxrwxr-x"));
    SocketDirectory.claim(own);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(own)))
        .isEqualTo("rwx------");
    try (TargetEngine e = TargetEngine.start(config(
        AdminAddress.unix(own.resolve("admin.sock"))))) {
      assertThat(own.resolve("admin.sock")).exists();
    }
  }

  @Test
  void socketDirectoryOfAnotherUserIsRefused() throws Exception {
    Path theirs = Files.createDirectory(dir.resolve("theirs"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try {
      Files.setAttribute(theirs, "unix:uid", 65_534); // nobody
    } catch (IOException e) {
      assumeThat(false).as("chown needs root: " + e).isTrue();
    }
    assertThatThrownBy(() -> TargetEngine.start(config(
        AdminAddress.unix(theirs.resolve("admin.sock")))))
        .isInstanceOf(IOException.class).hasMessageContaining("belongs to uid 65534");
    assertThatThrownBy(() -> SocketDirectory.claim(theirs))
        .isInstanceOf(IOException.class).hasMessageContaining("belongs to uid 65534");
  }

  @Test
  void liveSocketAndOtherFilesAreNotTakenOverButAStaleSocketIs() throws Exception {
    Path sock = dir.resolve("run/admin.sock");
    try (TargetEngine first = TargetEngine.start(config(AdminAddress.unix(sock)))) {
      assertThatThrownBy(() -> TargetEngine.start(EngineConfig.of(dir.resolve("other"))
          .withIscsi(false).withAdmin(AdminAddress.unix(sock))))
          .isInstanceOf(IOException.class).hasMessageContaining("in use by another");
      assertThat(sock).exists();
    }
    // a socket file nobody listens on, as an engine killed by SIGKILL leaves behind
    try (var stale = java.nio.channels.ServerSocketChannel.open(
        java.net.StandardProtocolFamily.UNIX)) {
      stale.bind(java.net.UnixDomainSocketAddress.of(sock));
    }
    assertThat(sock).exists();
    try (TargetEngine again = TargetEngine.start(config(AdminAddress.unix(sock)))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)))
          .isEqualTo("rw-------");
    }
    Path file = dir.resolve("run/notes.txt");
    Files.writeString(file, "keep me");
    assertThatThrownBy(() -> TargetEngine.start(config(AdminAddress.unix(file))))
        .isInstanceOf(IOException.class).hasMessageContaining("is not a socket");
    assertThat(file).hasContent("keep me");
  }

  @Test
  void socketPathTooLongForSunPathIsRefused() {
    Path deep = dir.resolve("x".repeat(120) + ".sock");
    assertThatThrownBy(() -> TargetEngine.start(config(AdminAddress.unix(deep))))
        .isInstanceOf(IOException.class).hasMessageContaining("holds at most 107");
  }

  @Test
  void plainTcpOnlyOnLoopback() throws Exception {
    assertThatThrownBy(() -> TargetEngine.start(config(AdminAddress.tcp("0.0.0.0", 0))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reachable from other hosts")
        .hasMessageContaining("--admin-tls-cert");
    try (TargetEngine e = TargetEngine.start(config(AdminAddress.tcp("127.0.0.1", 0)))) {
      assertThat(e.adminTcpAddress().getAddress().isLoopbackAddress()).isTrue();
    }
  }

  @Test
  void tlsIsForTcpOnly() {
    AdminTls tls = new AdminTls(dir.resolve("c"), dir.resolve("k"), dir.resolve("ca"));
    assertThatThrownBy(() -> new AdminListener(AdminAddress.unix(dir.resolve("s")), tls,
        false)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("applies to a TCP admin address");
    assertThatThrownBy(() -> AdminTls.ofOptional(dir.resolve("c"), null, null, "the flags"))
        .hasMessageContaining("TLS needs all of the flags");
    assertThat(AdminTls.ofOptional(null, null, null, "the flags")).isNull();
  }

  @Test
  void privateKeyReadableByOthersIsRefused() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki ca = TestPki.create(dir, "ca");
    TestPki.Identity server = ca.issue("engine");
    Files.setPosixFilePermissions(server.key(), PosixFilePermissions.fromString("rw-r--r--"));
    AdminListener listener = new AdminListener(AdminAddress.tcp("0.0.0.0", 0),
        TestPki.tls(server, ca), false);
    assertThatThrownBy(() -> TargetEngine.start(config(listener)))
        .isInstanceOf(IOException.class).hasMessageContaining("accessible to other users");
    Files.setPosixFilePermissions(server.key(), PosixFilePermissions.fromString("r--r-----"));
    try (TargetEngine e = TargetEngine.start(config(listener))) {
      assertThat(e.adminTcpAddress()).isNotNull();
    }
  }

  @Test
  void reflectionOnlyWhenAskedFor() throws Exception {
    try (TargetEngine off = TargetEngine.start(config(AdminAddress.tcp("127.0.0.1", 0)))) {
      assertThatThrownBy(() -> listServices(off.adminTcpAddress().getPort()))
          .hasRootCauseInstanceOf(StatusRuntimeException.class)
          .rootCause().extracting(t -> ((StatusRuntimeException) t).getStatus().getCode())
          .isEqualTo(Status.Code.UNIMPLEMENTED);
    }
    try (TargetEngine on = TargetEngine.start(EngineConfig.of(dir.resolve("state2"))
        .withIscsi(false).withAdmin(new AdminListener(AdminAddress.tcp("127.0.0.1", 0),
            null, true)))) {
      assertThat(listServices(on.adminTcpAddress().getPort()).toString())
          .contains("target.v1.TargetAdmin");
    }
  }

  private static ServerReflectionResponse listServices(int port) throws Exception {
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
        InsecureChannelCredentials.create()).build();
    try {
      CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
      StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(ch)
          .serverReflectionInfo(new StreamObserver<>() {
            @Override
            public void onNext(ServerReflectionResponse r) {
              answer.complete(r);
            }

            @Override
            public void onError(Throwable t) {
              answer.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
          });
      requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
      requests.onCompleted();
      return answer.get(10, TimeUnit.SECONDS);
    } finally {
      ch.shutdownNow();
    }
  }
}
