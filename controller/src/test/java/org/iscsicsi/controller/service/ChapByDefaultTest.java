package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.Status.Code;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.kube.ChapSecrets;
import org.iscsicsi.controller.kube.PvcEvents;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * CHAP by default, against the real embedded engine and the controller's real Secret and Event
 * writers (fabric8's mock API server in CRUD mode stands in for kube-apiserver; e2e's
 * VolumeLifecycleTest runs the same against a real one). Pins: a volume without a {@code chap}
 * parameter gets a target that requires CHAP with credentials generated for it (16 letters and
 * digits, the user its volume id) and one Secret in the controller's namespace that holds them
 * under the node-stage keys, with which (and only with which) a granted initiator logs in; a retry
 * keeps them, a lost Secret is made again and set on the target; new values written into the Secret
 * replace the old at the next ControllerPublishVolume; mutual CHAP generates the target's
 * credentials too; credentials of the request's secrets take precedence and make no Secret; {@code
 * chap: "false"} leaves the target open and records a Warning on the PVC; a Secret of that name
 * that is not the volume's is never used, and one without usable credentials is
 * FAILED_PRECONDITION; DeleteVolume deletes the Secret, idempotently; no password reaches the log
 * at any level.
 */
@EnableKubernetesMockClient(crud = true)
class ChapByDefaultTest {

  static KubernetesClient client;
  static final String NS = "iscsi-csi";
  static final String PV = "pvc-6f9c2d1e-0b5a-4c3e-9a77-1d2e3f4a5b6c";

  @TempDir Path dir;
  ControllerFixture f;

  @BeforeEach
  void start() throws Exception {
    f = new ControllerFixture(dir, Map.of(), ControllerConfig.defaults(), new ClusterObjects(
        new ChapSecrets(client, NS, ChapSecrets.DEFAULT_PREFIX,
            ControllerConfig.DEFAULT_DRIVER_NAME),
        new PvcEvents(client, "controller-0")));
  }

  @AfterEach
  void stop() throws InterruptedException {
    f.close();
    client.secrets().inAnyNamespace().delete();
  }

  private Csi.CreateVolumeRequest.Builder request(String name) {
    return createRequest(name, 1 << 20)
        .putParameters("csi.storage.k8s.io/pvc/name", "data")
        .putParameters("csi.storage.k8s.io/pvc/namespace", "apps");
  }

  private Target target(Csi.Volume v) {
    return f.engine.client().findTarget(f.config.iqnPrefix() + ":" + v.getVolumeId())
        .orElseThrow();
  }

  private static Secret secret(String volumeName) {
    return client.secrets().inNamespace(NS).withName("iscsi-csi-chap-" + volumeName).get();
  }

  private static Map<String, String> data(Secret s) {
    Map<String, String> out = new java.util.TreeMap<>();
    s.getData().forEach((k, v) -> out.put(k,
        new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    return out;
  }

  @Test
  void aVolumeGetsGeneratedCredentialsInItsTargetAndItsSecret() {
    Csi.Volume v = f.controller.createVolume(request(PV).build()).getVolume();
    assertThat(v.getVolumeContextMap()).containsEntry("chap", "true");
    Target t = target(v);
    assertThat(t.getChap().getUser()).isEqualTo(v.getVolumeId());
    assertThat(t.getChap().getMutualUser()).isEmpty();
    assertThat(t.getLabelsMap()).containsEntry("csi.iscsicsi.org/chap-credentials", "generated");

    Secret s = secret(PV);
    assertThat(s.getType()).isEqualTo("Opaque");
    assertThat(s.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(s.getMetadata().getLabels())
        .containsEntry("csi.iscsicsi.org/volume-id", v.getVolumeId())
        .containsEntry("app.kubernetes.io/managed-by", ControllerConfig.DEFAULT_DRIVER_NAME);
    Map<String, String> creds = data(s);
    assertThat(creds).containsOnlyKeys("username", "password")
        .containsEntry("username", v.getVolumeId());
    assertThat(creds.get("password")).matches("[A-Za-z0-9]{16}");

    // a retry: same volume, same Secret
    assertThat(f.controller.createVolume(request(PV).build()).getVolume()).isEqualTo(v);
    assertThat(data(secret(PV))).isEqualTo(creds);

    // the Secret lost: a retry makes a new one, and the target follows it
    client.secrets().inNamespace(NS).withName("iscsi-csi-chap-" + PV).delete();
    f.controller.createVolume(request(PV).build());
    Map<String, String> renewed = data(secret(PV));
    assertThat(renewed.get("password")).matches("[A-Za-z0-9]{16}")
        .isNotEqualTo(creds.get("password"));

    // published without secrets: the node gets its credentials from the Secret, not the call
    f.publish(v.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A).build());

    Csi.DeleteVolumeRequest delete = Csi.DeleteVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).build();
    f.controller.deleteVolume(delete);
    assertThat(secret(PV)).isNull();
    f.controller.deleteVolume(delete);
  }

  @Test
  void theSecretsCredentialsLogInAndARotationAppliesAtTheNextAttach() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Libiscsi.installed(),
        "libiscsi-bin (iscsi-inq) is not installed");
    Csi.Volume v = f.controller.createVolume(request(PV).build()).getVolume();
    Map<String, String> first = data(secret(PV));
    String url = Libiscsi.url(f.publish(v.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER),
        false));
    assertThat(Libiscsi.run(Map.of(), "iscsi-inq", "-i", NODE_A, url).exit())
        .as("the node's initiator name alone").isNotZero();
    Libiscsi.Result in = Libiscsi.run(first, "iscsi-inq", "-i", NODE_A, url);
    assertThat(in.exit()).as(in.output()).isZero();

    // rotation: new values in the Secret while detached, applied by the next attach
    f.controller.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A).build());
    Map<String, String> rotated = Map.of("username", v.getVolumeId(),
        "password", "Rotated0123456789");
    client.secrets().inNamespace(NS).withName("iscsi-csi-chap-" + PV).edit(s -> {
      s.getData().put("password", Base64.getEncoder().encodeToString(
          rotated.get("password").getBytes(StandardCharsets.UTF_8)));
      return s;
    });
    f.publish(v.getVolumeId(), NODE_A, mount(Mode.SINGLE_NODE_WRITER), false);
    assertThat(Libiscsi.run(first, "iscsi-inq", "-i", NODE_A, url).exit())
        .as("the old password after the rotation").isNotZero();
    Libiscsi.Result after = Libiscsi.run(rotated, "iscsi-inq", "-i", NODE_A, url);
    assertThat(after.exit()).as(after.output()).isZero();
  }

  @Test
  void mutualChapGeneratesTheTargetsCredentialsToo() {
    Csi.Volume v = f.controller.createVolume(request(PV).putParameters("mutualChap", "true")
        .build()).getVolume();
    Target t = target(v);
    Map<String, String> creds = data(secret(PV));
    assertThat(creds).containsOnlyKeys("username", "password", "username_in", "password_in")
        .containsEntry("username_in", t.getName());
    assertThat(creds.get("password_in")).matches("[A-Za-z0-9]{16}")
        .isNotEqualTo(creds.get("password"));
    assertThat(t.getChap().getMutualUser()).isEqualTo(t.getName());
    assertCode(() -> f.controller.createVolume(request("pvc-other")
        .putParameters("chap", "false").putParameters("mutualChap", "true").build()),
        Code.INVALID_ARGUMENT);
  }

  @Test
  void credentialsOfTheRequestTakePrecedenceAndMakeNoSecret() {
    Csi.Volume v = f.controller.createVolume(request(PV).putAllSecrets(Map.of(
        "username", "tenant", "password", "tenant-secret-123")).build()).getVolume();
    assertThat(target(v).getChap().getUser()).isEqualTo("tenant");
    assertThat(target(v).getLabelsMap())
        .containsEntry("csi.iscsicsi.org/chap-credentials", "secrets");
    assertThat(secret(PV)).isNull();
  }

  @Test
  void publishSecretsReplaceGeneratedCredentialsAndTheirSecretGoes() {
    Csi.Volume v = f.controller.createVolume(request(PV).build()).getVolume();
    assertThat(secret(PV)).isNotNull();
    f.controller.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER))
        .putAllSecrets(Map.of("username", "tenant", "password", "tenant-secret-123")).build());
    assertThat(target(v).getChap().getUser()).isEqualTo("tenant");
    assertThat(target(v).getLabelsMap())
        .containsEntry("csi.iscsicsi.org/chap-credentials", "secrets")
        .containsEntry("csi.iscsicsi.org/publish-mode", "SINGLE_NODE_WRITER");
    assertThat(secret(PV)).isNull();
  }

  @Test
  void chapOffLeavesTheTargetOpenAndWarnsOnThePvc() {
    String uid = client.persistentVolumeClaims().inNamespace("apps").resource(
        new PersistentVolumeClaimBuilder().withNewMetadata().withName("data")
            .withNamespace("apps").withUid("0a1b2c3d").endMetadata().build()).create()
        .getMetadata().getUid();
    Csi.Volume v = f.controller.createVolume(request(PV).putParameters("chap", "false")
        .build()).getVolume();
    assertThat(v.getVolumeContextMap()).containsEntry("chap", "false");
    assertThat(target(v).getChap().getUser()).isEmpty();
    assertThat(secret(PV)).isNull();
    List<Event> events = client.v1().events().inNamespace("apps").list().getItems();
    assertThat(events).singleElement().satisfies(e -> {
      assertThat(e.getType()).isEqualTo("Warning");
      assertThat(e.getReason()).isEqualTo("ChapDisabled");
      assertThat(e.getInvolvedObject().getKind()).isEqualTo("PersistentVolumeClaim");
      assertThat(e.getInvolvedObject().getName()).isEqualTo("data");
      assertThat(e.getInvolvedObject().getUid()).isEqualTo(uid);
      assertThat(e.getMessage()).contains(v.getVolumeId(), "chap: \"false\"",
          "any initiator that presents the initiator name of a node");
    });
  }

  @Test
  void aSecretOfThatNameThatIsNotTheVolumesIsNeverUsed() {
    client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata()
        .withName("iscsi-csi-chap-" + PV).withNamespace(NS).endMetadata()
        .addToStringData("username", "planted").addToStringData("password", "planted-secret-1")
        .build()).create();
    assertCode(() -> f.controller.createVolume(request(PV).build()), Code.FAILED_PRECONDITION);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
    assertThat(secret(PV)).isNotNull();
  }

  @Test
  void theVolumesSecretWithoutUsableCredentialsIsAFailedPrecondition() {
    // the volume id a CreateVolume of this name gets on the embedded engine "local"
    client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata()
        .withName("iscsi-csi-chap-" + PV).withNamespace(NS)
        .addToLabels("csi.iscsicsi.org/volume-id", "local." + PV).endMetadata()
        .addToStringData("username", "local." + PV).build()).create();
    assertCode(() -> f.controller.createVolume(request(PV).build()), Code.FAILED_PRECONDITION);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
    assertThat(secret(PV)).as("left for the operator to mend").isNotNull();
  }

  @Test
  void aVolumeNameThatGivesNoSecretNameIsInvalid() {
    assertCode(() -> f.controller.createVolume(request("Not_A_DNS_Name").build()),
        Code.INVALID_ARGUMENT);
    assertThat(f.engine.client().listTargets(Map.of())).isEmpty();
  }

  @Test
  void noPasswordReachesTheLogAtAnyLevel() {
    var root = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(
        org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    root.addAppender(logged);
    Level level = root.getLevel();
    root.setLevel(Level.ALL);
    List<String> passwords = new java.util.ArrayList<>(List.of("tenant-secret-123"));
    try {
      Csi.Volume v = f.controller.createVolume(request(PV).putParameters("mutualChap", "true")
          .build()).getVolume();
      Map<String, String> creds = data(secret(PV));
      passwords.add(creds.get("password"));
      passwords.add(creds.get("password_in"));
      f.controller.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).setNodeId(NODE_A)
          .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER))
          .putAllSecrets(Map.of("username", "tenant", "password", "tenant-secret-123")).build());
      f.controller.deleteVolume(Csi.DeleteVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).build());
    } finally {
      root.setLevel(level);
      root.detachAppender(logged);
    }
    assertThat(logged.list).isNotEmpty();
    for (ILoggingEvent e : logged.list) {
      if (e.getLoggerName().startsWith("io.fabric8.mockwebserver")
          || e.getLoggerName().startsWith("io.fabric8.kubernetes.client.server.mock")) {
        continue; // the stand-in API server's own log: it holds the Secret as an API server does
      }
      String text = e.getFormattedMessage() + java.util.Arrays.toString(e.getArgumentArray())
          + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage());
      for (String p : passwords) {
        assertThat(text).doesNotContain(p).doesNotContain(Base64.getEncoder().encodeToString(
            p.getBytes(StandardCharsets.UTF_8)));
      }
    }
  }
}
