package org.iscsicsi.target.names;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Wire values in logs: control characters, separators and backslashes escaped, length cut. */
class WireTextTest {

  @Test
  void escapesWhatCouldForgeALogLine() {
    String name = "iqn.2026-11.org.example:a";
    assertThat(WireText.escape(name)).isEqualTo(name);
    assertThat(WireText.escape("a\nb\r\tc\u001b[2J\u0000\\\u2028"))
        .isEqualTo("a\\nb\\r\\tc\\x1b[2J\\x00\\\\\\u2028");
    assertThat(WireText.escape(null)).isEqualTo("null");
    String cut = WireText.escape("x".repeat(10_000));
    assertThat(cut).startsWith("xxx").endsWith("...(10000 chars)")
        .hasSizeLessThan(WireText.MAX_LOGGED_CHARS + 20);
    assertThat(WireText.escape("\u0085é")).isEqualTo("\\x85é");
  }
}
