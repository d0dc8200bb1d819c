package org.iscsicsi.target.transfer;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.iscsicsi.target.admin.AdminTls;

/**
 * TLS of the replication port, from the same key material files as the admin API
 * ({@link AdminTls}: the engine's certificate and key, and the CA of the engines): TLS 1.3 only,
 * a certificate required of both sides, and both sides accept only a peer whose certificate's
 * common name is {@value #ENGINE_CN} (the engines' shared identity; the controller's certificate,
 * CN {@code controller}, is refused here).
 */
public final class ReplicationTls {

  public static final String ENGINE_CN = "engine";
  private static final String TLS_1_3 = "TLSv1.3";

  private final AdminTls files;

  public ReplicationTls(AdminTls files) {
    this.files = files;
  }

  /** The listener's context: requires a client certificate of the CA. */
  public SslContext server() throws IOException {
    files.checkFiles();
    return SslContextBuilder.forServer(files.certificate().toFile(), files.privateKey().toFile())
        .trustManager(files.trustedCa().toFile())
        .clientAuth(ClientAuth.REQUIRE)
        .sslProvider(SslProvider.JDK)
        .protocols(TLS_1_3)
        .build();
  }

  /**
   * The dialling side's context: presents the engine's certificate, trusts only the CA. Engines
   * are dialled at node addresses their certificates do not name (they share the one identity
   * {@code engine.iscsi.csi.iscsicsi.org}), so the name check is the CN check of
   * {@link #requireEngine}, not host name verification.
   */
  public SslContext client() throws IOException {
    files.checkFiles();
    return SslContextBuilder.forClient()
        .endpointIdentificationAlgorithm(null)
        .keyManager(files.certificate().toFile(), files.privateKey().toFile())
        .trustManager(files.trustedCa().toFile())
        .sslProvider(SslProvider.JDK)
        .protocols(TLS_1_3)
        .build();
  }

  /**
   * The peer's certificate subject when its CN is {@value #ENGINE_CN}; otherwise why not.
   *
   * @throws TransferException naming the subject that was refused
   */
  public static String requireEngine(SSLSession session) throws TransferException {
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      throw new TransferException("the peer presented no certificate");
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      throw new TransferException("the peer presented no X.509 certificate");
    }
    String subject = leaf.getSubjectX500Principal().getName();
    Optional<String> cn = commonName(subject);
    if (cn.isEmpty() || !cn.get().equals(ENGINE_CN)) {
      throw new TransferException("certificate " + subject + " is not an engine's (CN must be "
          + ENGINE_CN + ")");
    }
    return subject;
  }

  static Optional<String> commonName(String subject) {
    try {
      for (Rdn rdn : new LdapName(subject).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return Optional.of(String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
