package org.iscsicsi.target.acl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins how grants decide an initiator's access: a named grant wins over ALL, nobody gets in
 * without a grant, names match in RFC 3722 normalized form, and bad initiator names are refused.
 */
class AccessControlTest {

  private static final String A = "iqn.1993-08.org.debian:01:aaaa";
  private static final String B = "iqn.1993-08.org.debian:01:bbbb";

  @Test
  void noGrantsMeansNoAccess() {
    assertThat(new AccessControl(List.of()).access(A)).isEqualTo(AccessLevel.NONE);
  }

  @Test
  void namedGrantWinsOverAll() {
    var acl = new AccessControl(List.of(InitiatorGrant.of("ALL", true),
        InitiatorGrant.of(A, false)));
    assertThat(acl.access(A)).isEqualTo(AccessLevel.READ_WRITE);
    assertThat(acl.access(B)).isEqualTo(AccessLevel.READ_ONLY);
  }

  @Test
  void onlyNamedInitiatorsWithoutAll() {
    var acl = new AccessControl(List.of(InitiatorGrant.of(A, true)));
    assertThat(acl.access(A)).isEqualTo(AccessLevel.READ_ONLY);
    assertThat(acl.access(B)).isEqualTo(AccessLevel.NONE);
    assertThat(acl.access("")).isEqualTo(AccessLevel.NONE);
    assertThat(acl.access(null)).isEqualTo(AccessLevel.NONE);
  }

  @Test
  void matchesInNormalizedForm() {
    var acl = new AccessControl(List.of(InitiatorGrant.of("IQN.1993-08.Org.Debian:01:AAAA",
        false)));
    assertThat(acl.access(A)).isEqualTo(AccessLevel.READ_WRITE);
    assertThat(acl.access("iqn.1993-08.ORG.debian:01:aaaa")).isEqualTo(AccessLevel.READ_WRITE);
  }

  @Test
  void allIsCaseInsensitiveAndBadNamesAreRefused() {
    assertThat(InitiatorGrant.of("all", false).initiator()).isEqualTo("ALL");
    assertThatThrownBy(() -> InitiatorGrant.of("host1", false))
        .hasMessageContaining("initiator").hasMessageContaining("or use ALL");
  }
}
