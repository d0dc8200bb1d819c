package org.iscsicsi.target.admin;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Objects;
import java.util.Set;

/**
 * One side of a mutually authenticated TLS link to the target.v1 admin API: its own certificate
 * chain and private key, and the CA the other side's certificate must chain to (PEM files). The
 * engine uses it with the CA of its clients ({@link ReloadingTls}, which follows changes of the
 * files); a client (the CLI, the controller) with the CA of the engines, read when the channel is
 * built.
 *
 * @param certificate the certificate chain, leaf first
 * @param privateKey its PKCS#8 private key; must not be readable by other users
 * @param trustedCa the CA certificate(s) the peer's certificate must chain to
 */
public record AdminTls(Path certificate, Path privateKey, Path trustedCa) {

  private static final Set<PosixFilePermission> OPEN_TO_OTHERS =
      Set.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

  public AdminTls {
    certificate = absolute(certificate, "certificate");
    privateKey = absolute(privateKey, "private key");
    trustedCa = absolute(trustedCa, "CA");
  }

  /**
   * All three files, or none: null when every path is null; otherwise each must be given.
   *
   * @param flags the names of the three options, for the error message
   */
  public static AdminTls ofOptional(Path certificate, Path privateKey, Path trustedCa,
      String flags) {
    if (certificate == null && privateKey == null && trustedCa == null) {
      return null;
    }
    if (certificate == null || privateKey == null || trustedCa == null) {
      throw new IllegalArgumentException("TLS needs all of " + flags);
    }
    return new AdminTls(certificate, privateKey, trustedCa);
  }

  /** Credentials of a client that presents its certificate and trusts only engines of the CA. */
  public ChannelCredentials channelCredentials() throws IOException {
    checkFiles();
    return TlsChannelCredentials.newBuilder()
        .keyManager(certificate.toFile(), privateKey.toFile())
        .trustManager(trustedCa.toFile())
        .build();
  }

  /** Every file is readable, and the private key is not open to other users. */
  public void checkFiles() throws IOException {
    for (Path p : new Path[] {certificate, privateKey, trustedCa}) {
      if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
        throw new IOException("TLS file " + p + " does not exist or is not readable");
      }
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(privateKey);
    if (perms.stream().anyMatch(OPEN_TO_OTHERS::contains)) {
      throw new IOException("private key " + privateKey + " is accessible to other users (mode "
          + java.nio.file.attribute.PosixFilePermissions.toString(perms)
          + "): make it 0600 or 0400 (chmod go-rwx)");
    }
  }

  private static Path absolute(Path p, String what) {
    return Objects.requireNonNull(p, what).toAbsolutePath().normalize();
  }
}
