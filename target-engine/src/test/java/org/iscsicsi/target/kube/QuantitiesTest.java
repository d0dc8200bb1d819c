package org.iscsicsi.target.kube;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Printer-column quantities: whole binary units rounded down, at least 10 of the unit shown. */
class QuantitiesTest {

  @Test
  void binaryUnits() {
    assertThat(Quantities.binary(0)).isEqualTo("0");
    assertThat(Quantities.binary(1023)).isEqualTo("1023");
    assertThat(Quantities.binary(1863L << 30)).isEqualTo("1863Gi");
    assertThat(Quantities.binary((1863L << 30) + (1L << 29))).isEqualTo("1863Gi");
    assertThat(Quantities.binary(5L << 30)).isEqualTo("5120Mi");
    assertThat(Quantities.binary(12L << 40)).isEqualTo("12Ti");
  }

  @Test
  void shareOfTheWhole() {
    assertThat(Quantities.share(412L << 30, 1863L << 30)).isEqualTo("412Gi (22%)");
    assertThat(Quantities.share(0, 931L << 30)).isEqualTo("0 (0%)");
    assertThat(Quantities.share(0, 0)).isEqualTo("0 (0%)");
    assertThat(Quantities.share(3L << 40, 2L << 40)).isEqualTo("3072Gi (150%)");
  }
}
