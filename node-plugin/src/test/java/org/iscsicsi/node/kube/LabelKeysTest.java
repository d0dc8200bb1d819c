package org.iscsicsi.node.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pins the label-key syntax {@code --topology-keys} accepts, the API server's qualified name:
 * well-known and plain keys pass; an upper-case or empty prefix, a second slash, a name that is
 * too long or does not start and end alphanumeric, blanks and repeats are refused with a message
 * naming the key.
 */
class LabelKeysTest {

  @ParameterizedTest
  @ValueSource(strings = {"topology.kubernetes.io/zone", "topology.kubernetes.io/region",
      "zone", "example.com/rack-1", "a", "x/Y_z.9", "kubernetes.io/hostname"})
  void validKeysPass(String key) {
    LabelKeys.check(key);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Bad Key/zone", "/zone", "zone/", "a/b/c", "Example.com/zone",
      "-zone", "zone-", "zo ne", "example..com/zone", "zone=a", "zone,rack"})
  void invalidKeysAreRefused(String key) {
    assertThatThrownBy(() -> LabelKeys.check(key)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("label key");
  }

  @Test
  void lengthsAreTheApiServers() {
    LabelKeys.check("a".repeat(63));
    assertThatThrownBy(() -> LabelKeys.check("a".repeat(64)))
        .hasMessageContaining("1 to 63 characters");
    LabelKeys.check("a".repeat(253) + "/zone");
    assertThatThrownBy(() -> LabelKeys.check("a".repeat(254) + "/zone"))
        .hasMessageContaining("at most 253");
  }

  @Test
  void listsAreSplitOnCommasAndRefuseRepeats() {
    assertThat(LabelKeys.parseList("topology.kubernetes.io/zone, example.com/rack"))
        .containsExactly("topology.kubernetes.io/zone", "example.com/rack");
    assertThatThrownBy(() -> LabelKeys.parseList("zone,zone"))
        .hasMessageContaining("'zone' is given twice");
    assertThatThrownBy(() -> LabelKeys.parseList("zone,"))
        .hasMessageContaining("empty label key");
  }
}
