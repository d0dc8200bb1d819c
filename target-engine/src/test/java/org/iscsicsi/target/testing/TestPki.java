package org.iscsicsi.target.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.admin.AdminTls;

/**
 * A throw-away certificate authority made with the host's {@code openssl} (argv, no shell) for
 * mutual-TLS tests: EC P-256 keys in PKCS#8 PEM (mode 0600), leaf certificates valid for
 * 127.0.0.1 and localhost as both server and client, and expired ones on request.
 */
public final class TestPki {

  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(60);
  private static final String LEAF_EXTENSIONS = """
      basicConstraints = critical, CA:FALSE
      keyUsage = critical, digitalSignature
      extendedKeyUsage = serverAuth, clientAuth
      subjectAltName = IP:127.0.0.1, DNS:localhost%s
      """;

  /** A certificate and its private key. */
  public record Identity(Path certificate, Path key) {
  }

  private final Path dir;
  private final Path caCertificate;
  private final Path caKey;

  private TestPki(Path dir, Path caCertificate, Path caKey) {
    this.dir = dir;
    this.caCertificate = caCertificate;
    this.caKey = caKey;
  }

  /** Whether openssl is on the PATH (tests skip with this reason otherwise). */
  public static boolean available() {
    return Exec.available("openssl");
  }

  /** A new CA named {@code name}, its files under {@code dir/name}. */
  public static TestPki create(Path parent, String name) throws IOException, InterruptedException {
    Path dir = Files.createDirectories(parent.resolve(name));
    Path cert = dir.resolve("ca.crt");
    Path key = dir.resolve("ca.key");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
        "-subj", "/CN=" + name + " test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    ownerOnly(key);
    return new TestPki(dir, cert, key);
  }

  public Path caCertificate() {
    return caCertificate;
  }

  /** A leaf certificate valid from now for a day. */
  public Identity issue(String name) throws IOException, InterruptedException {
    return issue(name, List.of());
  }

  /**
   * A leaf certificate valid from now for a day that also names {@code dnsNames} (a fixed
   * server name clients verify whatever address they dial, as pool engines' certificates do).
   */
  public Identity issue(String name, List<String> dnsNames) throws IOException,
      InterruptedException {
    Path csr = request(name);
    Path cert = dir.resolve(name + ".crt");
    openssl("x509", "-req", "-in", csr.toString(), "-CA", caCertificate.toString(),
        "-CAkey", caKey.toString(), "-CAcreateserial", "-out", cert.toString(), "-days", "1",
        "-extfile", extensions(dnsNames).toString());
    return new Identity(cert, dir.resolve(name + ".key"));
  }

  /** A leaf certificate whose validity ended in 2020. */
  public Identity issueExpired(String name) throws IOException, InterruptedException {
    Path csr = request(name);
    Path cert = dir.resolve(name + ".crt");
    Path db = Files.createDirectories(dir.resolve("ca-db-" + name));
    Files.writeString(db.resolve("index.txt"), "");
    Files.writeString(db.resolve("serial"), "1000\n");
    Path config = db.resolve("ca.cnf");
    Files.writeString(config, """
        [ca]
        default_ca = test
        [test]
        database = %1$s/index.txt
        new_certs_dir = %1$s
        serial = %1$s/serial
        default_md = sha256
        policy = any
        unique_subject = no
        [any]
        commonName = supplied
        """.formatted(db));
    openssl("ca", "-batch", "-notext", "-config", config.toString(),
        "-cert", caCertificate.toString(), "-keyfile", caKey.toString(),
        "-in", csr.toString(), "-out", cert.toString(),
        "-extfile", extensions(List.of()).toString(),
        "-startdate", "20200101000000Z", "-enddate", "20200102000000Z");
    return new Identity(cert, dir.resolve(name + ".key"));
  }

  /** {@code id}'s certificate and key, trusting {@code peers}' CA. */
  public static AdminTls tls(Identity id, TestPki peers) {
    return new AdminTls(id.certificate(), id.key(), peers.caCertificate());
  }

  private Path request(String name) throws IOException, InterruptedException {
    Path key = dir.resolve(name + ".key");
    Path csr = dir.resolve(name + ".csr");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + name);
    ownerOnly(key);
    return csr;
  }

  private Path extensions(List<String> dnsNames) throws IOException {
    for (String n : dnsNames) {
      if (!n.matches("[a-z0-9.-]+")) {
        throw new IllegalArgumentException("not a DNS name: " + n);
      }
    }
    Path ext = dir.resolve("leaf" + (dnsNames.isEmpty() ? "" : "-" + String.join("_", dnsNames))
        + ".ext");
    if (!Files.exists(ext)) {
      Files.writeString(ext, LEAF_EXTENSIONS.formatted(dnsNames.stream()
          .map(n -> ", DNS:" + n).reduce("", String::concat)));
    }
    return ext;
  }

  private static void ownerOnly(Path key) throws IOException {
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("openssl"));
    argv.addAll(List.of(args));
    Exec.Result r = Exec.run(OPENSSL_TIMEOUT, argv);
    if (r.exit() != 0) {
      throw new IOException(String.join(" ", argv) + " failed (" + r.exit() + "): "
          + r.output());
    }
  }
}
