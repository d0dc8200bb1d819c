package org.iscsicsi.controller.service;

import java.security.SecureRandom;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeRecord;

/**
 * The CHAP credentials the controller generates for volumes: the initiator's user is the volume
 * id, the target's (mutual CHAP) its IQN, each secret drawn from one {@link SecureRandom}. With a
 * store that reaches nodes, the store's copy is the truth: {@link #apply} sets what the volume's
 * Secret holds on the target (making new credentials when the Secret is gone), which is how an
 * operator's rotation reaches the engine.
 */
final class GeneratedChap {

  private final SecureRandom random = new SecureRandom();
  private final ChapSecretStore store;

  GeneratedChap(ChapSecretStore store) {
    this.store = store;
  }

  ChapSecretStore store() {
    return store;
  }

  /** Fresh credentials for volume {@code id} on target {@code iqn}. */
  ChapCredentials fresh(VolumeId id, String iqn, boolean mutual) {
    return ChapCredentials.generate(random, id.toString(), mutual ? iqn : "");
  }

  /** True for a CHAP volume whose credentials the controller generated. */
  static boolean of(VolumeRecord v) {
    return v.parameters().chap() && VolumeLabels.CHAP_GENERATED.equals(
        v.target().getLabelsOrDefault(VolumeLabels.CHAP_CREDENTIALS, ""));
  }

  /**
   * Sets the credentials the store keeps for the volume on its target (new ones when it keeps
   * none). Does nothing without a store that reaches nodes: the engine's copy is then the only
   * one.
   */
  void apply(Located l) {
    if (!store.delivers()) {
      return;
    }
    VolumeRecord v = l.volume();
    ChapCredentials kept = store.keep(v.name(), v.id(),
        fresh(v.id(), l.iqn(), v.parameters().mutualChap()));
    l.engine().client().setChap(kept.toRequest(l.iqn()));
  }
}
