package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Pins how a PDU's LUN field becomes a LUN number (SAM-5 section 4.7): peripheral device
 * addressing (bus 0) and flat space addressing give the number; other methods pass through
 * unchanged so that the SCSI layer rejects them.
 */
class LunFieldTest {

  @Test
  void peripheralAndFlatSpaceGiveTheNumberOthersPassThrough() {
    assertThat(LunField.number(0L)).isZero();
    assertThat(LunField.number(0x0007_0000_0000_0000L)).isEqualTo(7);
    assertThat(LunField.number(0x4123_0000_0000_0000L)).isEqualTo(0x123);
    assertThat(LunField.number(0x0105_0000_0000_0000L)).isEqualTo(0x105); // peripheral, bus 1
    long extended = 0xC200_0000_0000_0001L;
    assertThat(LunField.number(extended)).isEqualTo(extended);
  }
}
