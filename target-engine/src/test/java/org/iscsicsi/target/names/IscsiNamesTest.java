package org.iscsicsi.target.names;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pins iSCSI name validation (RFC 3720 section 3.2.6, RFC 3722, RFC 3980): the names real
 * initiators and targets use are accepted and normalized, malformed ones are refused with a
 * message saying why, and generated names are valid and unique like iscsi-iname's.
 */
class IscsiNamesTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "iqn.1993-08.org.debian:01:2b6e4a2d9c1f",          // open-iscsi on Debian
      "iqn.2004-10.com.ubuntu:01:a5c3d9e7f1b2",
      "iqn.2016-04.com.open-iscsi:8d1f0a2b3c4d",         // iscsi-iname
      "iqn.2003-01.org.linux-iscsi.host.x8664:sn.0123456789ab", // LIO
      "iqn.1991-05.com.microsoft:win-node1.example.local",
      "iqn.2001-04.com.example",                          // no colon part
      "iqn.2001-04.com.example:storage.disk2.sys1.xyz",   // RFC 3720 example
      "eui.02004567a425678d",                             // RFC 3720 example (lower-cased)
      "naa.52004567ba64678d",                             // RFC 3980, 16 digits
      "naa.62004567ba64678d0123456789abcdef",             // 32 digits
  })
  void acceptsRealNames(String name) {
    assertThat(IscsiNames.validate(name)).isEqualTo(name);
  }

  @ParameterizedTest
  @CsvSource({
      "IQN.2001-04.COM.Example:Disk1, iqn.2001-04.com.example:disk1",
      "eui.02004567A425678D, eui.02004567a425678d",
      "NAA.52004567BA64678D, naa.52004567ba64678d",
  })
  void normalizesCase(String in, String out) {
    assertThat(IscsiNames.validate(in)).isEqualTo(out);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''|empty",
      "foo.2001-04.com.example|does not start with iqn., eui. or naa.",
      "iqn.|is not 'iqn.yyyy-mm",
      "iqn.2001.com.example|is not 'iqn.yyyy-mm",
      "iqn.01-04.com.example|is not 'iqn.yyyy-mm",
      "iqn.2001-13.com.example|invalid date",
      "iqn.2001-00.com.example|invalid date",
      "iqn.2001-04.|is not 'iqn.yyyy-mm",
      "iqn.2001-04.com..example|invalid naming authority",
      "iqn.2001-04.-com.example|invalid naming authority",
      "iqn.2001-04.com_x.example|invalid naming authority",
      "iqn.2001-04.com.example:|nothing after it",
      "iqn.2001-04.com.example:disk 1|contains ' '",
      "iqn.2001-04.com.example:disk_1|contains '_'",
      "iqn.2001-04.com.example:a/b|contains '/'",
      "' iqn.2001-04.com.example'|surrounding blanks",
      "eui.02004567a425678|16 hex digits",
      "eui.02004567a425678g|16 hex digits",
      "naa.52004567ba64678d00|16 or 32 hex digits",
  })
  void refusesMalformedNames(String name, String why) {
    assertThatThrownBy(() -> IscsiNames.validate(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(why);
  }

  @Test
  void refusesNamesOver223Bytes() {
    String name = "iqn.2001-04.com.example:" + "a".repeat(200);
    assertThat(name.length()).isGreaterThan(223);
    assertThatThrownBy(() -> IscsiNames.validate(name)).hasMessageContaining("223 bytes");
    String ok = "iqn.2001-04.com.example:" + "a".repeat(223 - 24);
    assertThat(IscsiNames.validate(ok)).hasSize(223);
  }

  @Test
  void acceptsNonAsciiLettersAfterNormalization() {
    assertThat(IscsiNames.validate("iqn.2001-04.com.example:zürich")).endsWith("zürich");
  }

  @Test
  void generatesValidUniqueNamesLikeIscsiIname() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String n = IscsiNames.generate(null);
      assertThat(n).matches("iqn\\.2026-11\\.org\\.iscsicsi:[0-9a-f]{12}");
      assertThat(IscsiNames.isValid(n)).isTrue();
      seen.add(n);
    }
    assertThat(seen).hasSize(1000);
    assertThat(IscsiNames.generate("iqn.2020-01.com.example"))
        .matches("iqn\\.2020-01\\.com\\.example:[0-9a-f]{12}");
  }

  @Test
  void refusesBadPrefixes() {
    assertThatThrownBy(() -> IscsiNames.generate("eui.02004567a425678d"))
        .hasMessageContaining("not an iqn. name");
    assertThatThrownBy(() -> IscsiNames.generate("iqn.x"))
        .hasMessageContaining("invalid iSCSI name");
  }
}
