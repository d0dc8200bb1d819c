package org.iscsicsi.target.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Pins the CLI's size syntax: binary K/M/G/T suffixes (KiB/KB spellings too), clear refusals. */
class SizesTest {

  @ParameterizedTest
  @CsvSource({"512, 512", "4K, 4096", "4k, 4096", "64M, 67108864", "1G, 1073741824",
      "2T, 2199023255552", "1GiB, 1073741824", "1GB, 1073741824", "8MiB, 8388608"})
  void parses(String in, long bytes) {
    assertThat(Sizes.parse(in)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "G", "-1G", "1.5G", "10X", "abc", "99999999999T"})
  void refuses(String in) {
    assertThatThrownBy(() -> Sizes.parse(in)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("size");
  }

  @ParameterizedTest
  @CsvSource({"1536, 1.5 KiB", "1073741824, 1 GiB", "100, 100 B"})
  void formats(long bytes, String text) {
    assertThat(Sizes.format(bytes)).isEqualTo(text);
  }
}
