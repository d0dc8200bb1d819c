package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key material the chart makes in pool mode works where it is used: the engines' Secret holds
 * a certificate with CN engine, the DNS SAN clients verify, server and client authentication, the
 * controller's one with CN controller, both signed by the CA in each Secret, and private keys in
 * PKCS#8 that match their certificates. A real target engine serving its admin API with the
 * engines' Secret answers a client with the controller's Secret that verifies the fixed server
 * name, and refuses a client whose certificate another render (another CA) made.
 */
class ChartEngineTlsTest {
  static final String SERVER_NAME = "engine.iscsi.csi.iscsicsi.org";

  @Test
  void certificatesNameTheirRolesAndChainToTheCa() throws Exception {
    List<ObjectNode> objects = ChartRenderer.render("pool");
    Pair engine = pair(K8sObjects.get(objects, "Secret", "iscsi-csi-engine-tls"));
    Pair controller = pair(K8sObjects.get(objects, "Secret", "iscsi-csi-controller-tls"));
    assertThat(engine.ca).isEqualTo(controller.ca);
    assertThat(engine.cert.getSubjectX500Principal().getName()).isEqualTo("CN=engine");
    assertThat(engine.cert.getSubjectAlternativeNames())
        .containsExactly(List.of(2, SERVER_NAME));
    assertThat(engine.cert.getExtendedKeyUsage())
        .contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(controller.cert.getSubjectX500Principal().getName()).isEqualTo("CN=controller");
    assertThat(controller.cert.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.2");
    for (Pair p : List.of(engine, controller)) {
      p.cert.verify(p.ca.getPublicKey());
      assertThat(p.ca.getBasicConstraints()).as("the CA is a CA").isNotNegative();
      assertThat(p.cert.getBasicConstraints()).as("a leaf is not").isEqualTo(-1);
      Signature sign = Signature.getInstance("SHA256withECDSA");
      sign.initSign(p.key);
      byte[] data = "iscsi-csi".getBytes(StandardCharsets.UTF_8);
      sign.update(data);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance("SHA256withECDSA");
      verify.initVerify(p.cert.getPublicKey());
      verify.update(data);
      assertThat(verify.verify(signature)).as("the key is the certificate's").isTrue();
    }
  }

  @Test
  void engineServesTheControllerOverMutualTlsWithTheChartsSecrets(@TempDir Path dir)
      throws Exception {
    List<ObjectNode> objects = ChartRenderer.render("pool");
    AdminTls engineTls = write(K8sObjects.get(objects, "Secret", "iscsi-csi-engine-tls"),
        dir.resolve("engine"));
    AdminTls controllerTls = write(K8sObjects.get(objects, "Secret", "iscsi-csi-controller-tls"),
        dir.resolve("controller"));
    AdminTls strangerTls = write(K8sObjects.get(ChartRenderer.render("pool"), "Secret",
        "iscsi-csi-controller-tls"), dir.resolve("stranger"));
    EngineConfig config = EngineConfig.of(dir.resolve("state")).withIscsi(false)
        .withAdmin(new AdminListener(AdminAddress.tcp("127.0.0.1", 0), engineTls, false));
    try (TargetEngine engine = TargetEngine.start(config)) {
      int port = engine.adminTcpAddress().getPort();
      assertThat(call(port, controllerTls, SERVER_NAME)).isNotEmpty();
      assertThatThrownBy(() -> call(port, strangerTls, SERVER_NAME))
          .as("a certificate of another CA").isInstanceOf(StatusRuntimeException.class);
      assertThatThrownBy(() -> call(port, controllerTls, "127.0.0.1"))
          .as("the engine's certificate names no address").isInstanceOf(
              StatusRuntimeException.class);
    }
  }

  private static String call(int port, AdminTls tls, String authority) throws Exception {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
        tls.channelCredentials()).overrideAuthority(authority).build();
    try {
      return TargetAdminGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getVersion();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The Secret's files as kubelet mounts them with defaultMode 0400 and an fsGroup: 0440. */
  private static AdminTls write(JsonNode secret, Path dir) throws Exception {
    Files.createDirectories(dir);
    for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
      Path file = dir.resolve(key);
      Files.write(file, decode(secret, key));
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r-----"));
    }
    return new AdminTls(dir.resolve("tls.crt"), dir.resolve("tls.key"), dir.resolve("ca.crt"));
  }

  private record Pair(X509Certificate cert, PrivateKey key, X509Certificate ca) {}

  private static Pair pair(JsonNode secret) throws Exception {
    assertThat(secret.path("type").asText()).isEqualTo("kubernetes.io/tls");
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    X509Certificate cert = (X509Certificate) x509.generateCertificate(
        new ByteArrayInputStream(decode(secret, "tls.crt")));
    X509Certificate ca = (X509Certificate) x509.generateCertificate(
        new ByteArrayInputStream(decode(secret, "ca.crt")));
    String pem = new String(decode(secret, "tls.key"), StandardCharsets.US_ASCII);
    assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n")
        .endsWith("-----END PRIVATE KEY-----\n");
    String body = pem.replace("-----BEGIN PRIVATE KEY-----", "")
        .replace("-----END PRIVATE KEY-----", "");
    assertThat(body.strip().lines()).allMatch(l -> l.length() <= 64);
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(
        new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(body)));
    return new Pair(cert, key, ca);
  }

  private static byte[] decode(JsonNode secret, String key) {
    String value = secret.path("data").path(key).asText();
    assertThat(value).as("%s in %s", key, K8sObjects.name(secret)).isNotEmpty();
    return Base64.getDecoder().decode(value);
  }
}
