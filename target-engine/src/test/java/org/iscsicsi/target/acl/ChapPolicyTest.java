package org.iscsicsi.target.acl;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pins the CHAP user/secret rules (RFC 7143 sections 9.2.1 and 12.1.3: at least 96-bit secrets,
 * at most what open-iscsi can hold, distinct secrets per direction) and that neither messages nor
 * {@code toString} ever reveal a secret.
 */
class ChapPolicyTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "alice|short|12 to 255 bytes",
      "alice|elevenchars|12 to 255 bytes",
      "''|twelve-chars!|user name is empty",
      "al\tice|twelve-chars!|control characters",
  })
  void refusesBadUsersAndSecrets(String user, String secret, String why) {
    assertThatThrownBy(() -> ChapPolicy.secret("initiator", user, secret.getBytes(UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(why)
        .message().doesNotContain(secret);
  }

  @Test
  void boundsOfSecretLength() {
    assertThat(ChapPolicy.secret("initiator", "u", new byte[12]).secret()).hasSize(12);
    assertThat(ChapPolicy.secret("initiator", "u", new byte[255]).secret()).hasSize(255);
    assertThatThrownBy(() -> ChapPolicy.secret("initiator", "u", new byte[256]))
        .hasMessageContaining("not 256");
    assertThatThrownBy(() -> ChapPolicy.secret("initiator", "u", new byte[0]))
        .hasMessageContaining("empty");
    assertThatThrownBy(() -> ChapPolicy.secret("initiator", "u".repeat(256), new byte[12]))
        .hasMessageContaining("longer than 255");
  }

  @Test
  void mutualSecretMustDiffer() {
    var in = ChapPolicy.secret("initiator", "a", "same-secret-123".getBytes(UTF_8));
    var out = ChapPolicy.secret("mutual", "b", "same-secret-123".getBytes(UTF_8));
    assertThatThrownBy(() -> ChapPolicy.checkDistinct(in, out)).hasMessageContaining("differ")
        .message().doesNotContain("same-secret-123");
  }

  @Test
  void toStringRedacts() {
    var s = new ChapSecret("alice", "topsecret-password".getBytes(UTF_8));
    assertThat(s.toString()).contains("alice").doesNotContain("topsecret");
  }
}
