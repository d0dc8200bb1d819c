package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.iscsicsi.target.acl.ChapPolicy;
import org.junit.jupiter.api.Test;

/**
 * Generated CHAP credentials: 16 letters and digits (within the engine's and every common
 * initiator's limits), different on every draw, the target's secret never the initiator's; the
 * node-stage key names; half-given credentials rejected; no password in toString.
 */
class ChapCredentialsTest {

  final SecureRandom random = new SecureRandom();

  @Test
  void generatedSecretsFitEveryInitiatorAndDiffer() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      ChapCredentials c = ChapCredentials.generate(random, "local.pvc-1", "iqn.t:1");
      assertThat(c.password()).matches("[A-Za-z0-9]{16}");
      assertThat(c.mutualPassword()).matches("[A-Za-z0-9]{16}").isNotEqualTo(c.password());
      assertThat(c.password().length()).isBetween(ChapPolicy.MIN_SECRET_BYTES, 16);
      assertThat(seen.add(c.password())).isTrue();
    }
    ChapCredentials oneWay = ChapCredentials.generate(random, "u", "");
    assertThat(oneWay.mutual()).isFalse();
    assertThat(oneWay.asSecrets()).containsOnlyKeys("username", "password");
  }

  @Test
  void secretsUseTheNodeStageKeysAndRoundTrip() {
    ChapCredentials c = ChapCredentials.generate(random, "local.pvc-1", "iqn.t:1");
    assertThat(c.asSecrets()).containsOnlyKeys("username", "password", "username_in",
        "password_in");
    assertThat(ChapCredentials.fromSecrets(c.asSecrets())).isEqualTo(c);
    var req = c.toRequest("iqn.t:1");
    assertThat(req.getUser()).isEqualTo("local.pvc-1");
    assertThat(req.getPassword()).isEqualTo(c.password());
    assertThat(req.getMutualUser()).isEqualTo("iqn.t:1");
    assertThat(req.getMutualPassword()).isEqualTo(c.mutualPassword());
  }

  @Test
  void halfGivenCredentialsAreInvalid() {
    for (Map<String, String> bad : java.util.List.of(Map.of("username", "u"),
        Map.of("password", "p-123456789012"),
        Map.of("username", "u", "password", "p-123456789012", "username_in", "t"))) {
      assertThatThrownBy(() -> ChapCredentials.fromSecrets(bad))
          .isInstanceOf(StatusRuntimeException.class)
          .hasMessageContaining("INVALID_ARGUMENT");
    }
    assertThat(ChapCredentials.present(Map.of("password", "x"))).isFalse();
  }

  @Test
  void toStringShowsNoPassword() {
    ChapCredentials c = ChapCredentials.generate(random, "user", "target");
    assertThat(c.toString()).contains("user", "target").doesNotContain(c.password())
        .doesNotContain(c.mutualPassword());
  }
}
