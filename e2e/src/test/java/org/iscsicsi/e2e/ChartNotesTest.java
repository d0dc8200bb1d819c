package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import org.junit.jupiter.api.Test;

/**
 * What {@code helm install} prints (a client-only dry run, no cluster): NOTES.txt tells the user
 * how to wait for the controller and the node plugins, where the portal is, which classes exist
 * and how each protects its volumes (per-volume CHAP Secrets, the chart's Secret, or CHAP off),
 * how to create the CHAP Secret, what the NetworkPolicy lets through and how to run
 * {@code helm test}; in pool mode, how to label storage nodes and list the engines; the output
 * also carries the test hook.
 */
class ChartNotesTest {

  private static String install(String... sets) {
    var cmd = new Helm(Repo.chart()).install().withName(ChartRenderer.RELEASE)
        .withNamespace(ChartRenderer.NAMESPACE).withKubeVersion(ChartRenderer.KUBE_VERSION)
        .withDryRunOption(DryRun.CLIENT).clientOnly();
    for (int i = 0; i < sets.length; i += 2) {
      cmd = cmd.set(sets[i], sets[i + 1]);
    }
    return cmd.call().getOutput();
  }

  @Test
  void notesTellWhatToDoNext() {
    String out = install();
    assertThat(out)
        .contains("kubectl -n iscsi-csi rollout status statefulset/iscsi-csi-controller")
        .contains("kubectl -n iscsi-csi rollout status daemonset/iscsi-csi-node")
        .contains("/etc/iscsi/initiatorname.iscsi")
        .contains("Service iscsi-csi-portal, port 3260")
        .contains("iscsi-csi-xfs", "iscsi-csi-block")
        .contains("iscsi-csi-chap (CHAP, Secret iscsi-csi-chap: create it first)")
        .contains("iscsi-csi (CHAP, credentials per volume)")
        .contains("Secret iscsi-csi-chap-<PV name>")
        .contains("NetworkPolicy iscsi-csi-controller: the portal and probes only from "
            + "0.0.0.0/0, ::/0; metrics only from namespaces monitoring")
        .contains("Pods can still reach the portal")
        .doesNotContain("CHAP OFF")
        .contains("create secret generic iscsi-csi-chap")
        .contains("helm test iscsi-csi -n iscsi-csi")
        .contains("snapshot-controller");
  }

  @Test
  void notesNameTheClassesWithoutChap() {
    String out = new Helm(Repo.chart()).install().withName(ChartRenderer.RELEASE)
        .withNamespace(ChartRenderer.NAMESPACE).withKubeVersion(ChartRenderer.KUBE_VERSION)
        .withValuesFile(ChartRenderer.variantFile("chap-opt-out"))
        .withDryRunOption(DryRun.CLIENT).clientOnly().call().getOutput();
    assertThat(out)
        .contains("iscsi-csi-open (CHAP OFF: any initiator that presents a granted node's name "
            + "reaches its volumes)")
        .contains("iscsi-csi-mutual (CHAP, credentials per volume)");
  }

  @Test
  void notesInPoolModeTellHowToLabelStorageNodesAndSeeTheEngines() {
    String out = install("engines.mode", "pool");
    assertThat(out)
        .contains("kubectl label node NODE iscsi.csi.iscsicsi.org/storage-node=true")
        .contains("kubectl -n iscsi-csi rollout status daemonset/iscsi-csi-engine")
        .contains("kubectl get iscsiengines")
        .contains("each engine's node IP, port 3260 (host network)")
        .doesNotContain("Service iscsi-csi-portal");
    assertThat(install()).doesNotContain("iscsiengines");
  }

  @Test
  void notesFollowTheValues() {
    String out = install("portal.mode", "hostNetwork", "controller.storage.type", "hostPath",
        "controller.nodeSelector.kubernetes\\.io/hostname", "storage-1",
        "chap.create", "true", "chap.username", "u", "chap.password", "0123456789ab",
        "snapshots.enabled", "false", "networkPolicy.enabled", "false");
    assertThat(out)
        .contains("No NetworkPolicy (networkPolicy.enabled=false): every pod can reach the portal")
        .contains("its node's IP, port 3260 (hostNetwork)")
        .contains("iscsi-csi-chap (CHAP, Secret iscsi-csi-chap)")
        .doesNotContain("create secret generic")
        .doesNotContain("snapshot-controller");
  }
}
