package org.iscsicsi.csi.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The one reading of CHAP secrets that controller and node share: plain and open-iscsi key names
 * both work, half credentials are refused by key name, and no password reaches toString.
 */
class ChapSecretTest {

  @Test
  void readsPlainAndOpenIscsiKeyNames() {
    ChapSecret plain = ChapSecret.read(Map.of("username", "u", "password", "p")).orElseThrow();
    ChapSecret iscsi = ChapSecret.read(Map.of("node.session.auth.username", "u",
        "node.session.auth.password", "p")).orElseThrow();
    assertThat(plain).isEqualTo(iscsi).isEqualTo(new ChapSecret("u", "p", "", ""));
    assertThat(plain.mutual()).isFalse();
    ChapSecret mutual = ChapSecret.read(Map.of("username", "u", "password", "p",
        "node.session.auth.username_in", "t", "password_in", "q")).orElseThrow();
    assertThat(mutual.mutual()).isTrue();
    assertThat(mutual.asSecrets()).containsExactly(Map.entry("username", "u"),
        Map.entry("password", "p"), Map.entry("username_in", "t"), Map.entry("password_in", "q"));
  }

  @Test
  void noCredentialsIsEmptyAndHalvesAreRefused() {
    assertThat(ChapSecret.read(Map.of())).isEmpty();
    assertThat(ChapSecret.read(Map.of("other", "x"))).isEmpty();
    assertThat(ChapSecret.present(Map.of("node.session.auth.username", "u"))).isTrue();
    assertThat(ChapSecret.present(Map.of("password", "p"))).isFalse();
    assertThatThrownBy(() -> ChapSecret.read(Map.of("username", "u")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("password");
    assertThatThrownBy(() -> ChapSecret.read(Map.of("username", "u", "password", "p",
        "username_in", "t"))).hasMessageContaining("password_in");
  }

  @Test
  void toStringHidesPasswords() {
    assertThat(new ChapSecret("u", "secret1", "t", "secret2").toString())
        .contains("u", "t").doesNotContain("secret1", "secret2");
  }
}
