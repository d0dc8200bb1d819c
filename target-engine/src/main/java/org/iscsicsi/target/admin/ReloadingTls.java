package org.iscsicsi.target.admin;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mutual-TLS key material of the admin server that follows its files: the certificate, key and
 * client CA are read again whenever a file changes (its real path, time or size, checked every
 * {@code interval}; kubelet swaps a mounted Secret's files by renaming a symlink), so rotating
 * them needs no restart, and new connections present and trust the new ones. Files that cannot
 * be used (mid-update, damaged, a key others may read) keep the previous material, with a
 * warning. A client is accepted only when its certificate chains to the CA and its subject's
 * common name is one of {@code allowedClientCns}.
 */
public final class ReloadingTls implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReloadingTls.class);

  private final ScheduledExecutorService reloads;
  private final ServerCredentials credentials;
  private final AdminTls files;
  private final AdvancedTlsX509KeyManager keys;
  private final AdvancedTlsX509TrustManager trust;
  private List<Object> loaded;
  private List<Object> failed;

  private ReloadingTls(AdminTls files, AdvancedTlsX509KeyManager keys,
      AdvancedTlsX509TrustManager trust, ScheduledExecutorService reloads) {
    this.files = files;
    this.keys = keys;
    this.trust = trust;
    this.reloads = reloads;
    this.credentials = TlsServerCredentials.newBuilder().keyManager(keys)
        .trustManager(new WithoutIssuerHints(trust))
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build();
  }

  /**
   * Server credentials from {@code files}, requiring a client certificate of the CA with one of
   * the given common names.
   *
   * @throws IOException when a file is missing, unreadable, damaged, or the key is readable by
   *     other users
   */
  public static ReloadingTls forServer(AdminTls files, Set<String> allowedClientCns,
      Duration interval) throws IOException {
    if (allowedClientCns.isEmpty()) {
      throw new IllegalArgumentException("the admin API needs at least one allowed client CN");
    }
    files.checkFiles();
    ReloadingTls tls;
    try {
      tls = new ReloadingTls(files, new AdvancedTlsX509KeyManager(),
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(AdvancedTlsX509TrustManager.Verification
                  .CERTIFICATE_ONLY_VERIFICATION)
              .setSslSocketAndEnginePeerVerifier(new CommonNameCheck(Set.copyOf(allowedClientCns)))
              .build(),
          Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "admin-tls-reload");
            t.setDaemon(true);
            return t;
          }));
    } catch (CertificateException e) {
      throw new IOException("admin TLS trust manager: " + e.getMessage(), e);
    }
    try {
      tls.load(tls.fingerprint());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      tls.close();
      throw new IOException("admin TLS files " + files.certificate() + ", "
          + files.privateKey() + ", " + files.trustedCa() + " cannot be used: "
          + e.getMessage(), e);
    }
    long millis = interval.toMillis();
    tls.reloads.scheduleWithFixedDelay(tls::reloadIfChanged, millis, millis,
        TimeUnit.MILLISECONDS);
    return tls;
  }

  public ServerCredentials serverCredentials() {
    return credentials;
  }

  /** Stops watching the files. */
  @Override
  public void close() {
    reloads.shutdownNow();
  }

  private void load(List<Object> fingerprint) throws IOException, GeneralSecurityException {
    keys.updateIdentityCredentials(files.certificate().toFile(), files.privateKey().toFile());
    trust.updateTrustCredentials(files.trustedCa().toFile());
    loaded = fingerprint;
  }

  private void reloadIfChanged() {
    List<Object> now;
    try {
      now = fingerprint();
    } catch (IOException e) {
      now = List.of(e.toString());
    }
    if (now.equals(loaded)) {
      return;
    }
    try {
      files.checkFiles();
      load(now);
      failed = null;
      log.info("admin TLS: certificate, key and client CA reloaded from {}, {}, {}",
          files.certificate(), files.privateKey(), files.trustedCa());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      if (!now.equals(failed)) { // once per state of the files: they may be mid-update
        log.warn("admin TLS: changed files cannot be used, keeping the previous ones: {}",
            e.getMessage());
        failed = now;
      }
    }
  }

  /** What identifies the files' content: their real paths (kubelet swaps them), times, sizes. */
  private List<Object> fingerprint() throws IOException {
    List<Object> f = new ArrayList<>();
    for (Path p : List.of(files.certificate(), files.privateKey(), files.trustedCa())) {
      f.add(p.toRealPath());
      f.add(Files.getLastModifiedTime(p));
      f.add(Files.size(p));
    }
    return f;
  }

  /** The common name(s) of a certificate's subject. */
  static Set<String> commonNames(X509Certificate certificate) throws CertificateException {
    Set<String> names = new TreeSet<>();
    try {
      for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          names.add(String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException e) {
      throw new CertificateException("client certificate subject cannot be parsed", e);
    }
    return names;
  }

  /**
   * The trust manager with an empty list of accepted issuers. The TLS stack sends that list to
   * clients when its context is built (certificate_authorities), and a client picks its
   * certificate by it: after a CA rotation a stale list would make clients with a certificate of
   * the new CA send none. Without hints every client sends its certificate, which is then checked
   * against the current CA.
   */
  private static final class WithoutIssuerHints extends X509ExtendedTrustManager {

    private static final X509Certificate[] NONE = new X509Certificate[0];
    private final X509ExtendedTrustManager delegate;

    WithoutIssuerHints(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return NONE;
    }
  }

  /** Refuses a chain-valid client certificate whose subject CN is not allowed. */
  private record CommonNameCheck(Set<String> allowed)
      implements AdvancedTlsX509TrustManager.SslSocketAndEnginePeerVerifier {

    @Override
    public void verifyPeerCertificate(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void verifyPeerCertificate(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("no client certificate");
      }
      Set<String> names = commonNames(chain[0]);
      if (names.size() != 1 || !allowed.contains(names.iterator().next())) {
        log.info("admin TLS client refused: certificate {} has CN {}, the admin API accepts {}",
            chain[0].getSubjectX500Principal().getName(), names, new TreeSet<>(allowed));
        throw new CertificateException("client certificate CN " + names + " is not one of "
            + new TreeSet<>(allowed));
      }
    }
  }
}
