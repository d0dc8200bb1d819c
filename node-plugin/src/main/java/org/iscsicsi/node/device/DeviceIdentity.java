package org.iscsicsi.node.device;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What a SCSI disk says it is: its unit serial number (VPD page 0x80, SPC-4 section 7.8.15), its
 * NAA designators (VPD page 0x83, SPC-4 section 7.8.6.6) and the kernel's wwid string. The node
 * plugin compares them with the volume's before it formats anything.
 */
public record DeviceIdentity(Optional<String> serial, List<String> naa, Optional<String> wwid) {

  /** Reads /sys/block/NAME/device/{vpd_pg80,vpd_pg83,wwid}. */
  public static DeviceIdentity read(Sysfs sysfs, String name) {
    var dev = sysfs.block(name).resolve("device");
    Optional<String> serial = Sysfs.bytes(dev.resolve("vpd_pg80")).flatMap(DeviceIdentity::serial);
    List<String> naa = Sysfs.bytes(dev.resolve("vpd_pg83")).map(DeviceIdentity::naa)
        .orElse(List.of());
    Optional<String> wwid = Sysfs.text(dev.resolve("wwid")).filter(s -> !s.isEmpty());
    return new DeviceIdentity(serial, naa, wwid);
  }

  /** PRODUCT SERIAL NUMBER of a VPD 0x80 page: bytes 4..4+length, ASCII, trailing spaces cut. */
  static Optional<String> serial(byte[] page) {
    if (page.length < 4 || (page[1] & 0xff) != 0x80) {
      return Optional.empty();
    }
    int len = Math.min(((page[2] & 0xff) << 8) | (page[3] & 0xff), page.length - 4);
    String s = new String(page, 4, len, java.nio.charset.StandardCharsets.US_ASCII).strip();
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  /** Every NAA designator (type 3) of a VPD 0x83 page, as lower-case hex. */
  static List<String> naa(byte[] page) {
    List<String> out = new ArrayList<>();
    if (page.length < 4 || (page[1] & 0xff) != 0x83) {
      return out;
    }
    int end = Math.min(4 + (((page[2] & 0xff) << 8) | (page[3] & 0xff)), page.length);
    int i = 4;
    while (i + 4 <= end) {
      int type = page[i + 1] & 0x0f;
      int len = page[i + 3] & 0xff;
      if (i + 4 + len > end) {
        break;
      }
      if (type == 3 && (page[i] & 0x0f) == 1) {
        out.add(HexFormat.of().formatHex(page, i + 4, i + 4 + len));
      }
      i += 4 + len;
    }
    return out;
  }

  /**
   * Whether this disk is the volume: every expectation given must hold. {@code expectedNaa} may be
   * given with or without a {@code naa.} prefix; it is compared with the VPD designators and the
   * kernel's wwid.
   */
  public boolean matches(Optional<String> expectedSerial, Optional<String> expectedNaa) {
    if (expectedSerial.isPresent()) {
      if (serial.isEmpty() || !serial.get().equals(expectedSerial.get().strip())) {
        return false;
      }
    }
    if (expectedNaa.isPresent()) {
      String want = expectedNaa.get().strip().toLowerCase(Locale.ROOT);
      if (want.startsWith("naa.")) {
        want = want.substring(4);
      }
      String w = want;
      boolean inVpd = naa.stream().anyMatch(w::equals);
      boolean inWwid = wwid.map(s -> s.toLowerCase(Locale.ROOT)).filter(s -> s.equals("naa." + w))
          .isPresent();
      return inVpd || inWwid;
    }
    return true;
  }

  @Override
  public String toString() {
    return "serial=" + serial.orElse("(none)") + ", naa=" + naa + ", wwid=" + wwid.orElse("(none)");
  }
}
