package org.iscsicsi.node.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins LUN verification: the unit serial (VPD 0x80) and NAA designators (VPD 0x83) are decoded as
 * SPC-4 lays them out, and a disk whose identity differs from the volume's never matches. The
 * sysfs tree is a temporary directory laid out as the kernel's, because this host has no SCSI
 * disks (no SCSI layer in its kernel); the real sysfs is exercised in the VM tier.
 */
public class DeviceIdentityTest {

  @TempDir Path sys;

  /** VPD 0x80 as a Linux target returns it: header, then the ASCII serial. */
  public static byte[] pg80(String serial) {
    byte[] s = serial.getBytes(StandardCharsets.US_ASCII);
    byte[] p = new byte[4 + s.length];
    p[1] = (byte) 0x80;
    p[3] = (byte) s.length;
    System.arraycopy(s, 0, p, 4, s.length);
    return p;
  }

  /** VPD 0x83 with a T10 vendor id descriptor, then an NAA (type 3, binary) descriptor. */
  static byte[] pg83(String naaHex) {
    byte[] naa = HexFormat.of().parseHex(naaHex);
    byte[] t10 = "LIO-ORG abc".getBytes(StandardCharsets.US_ASCII);
    byte[] p = new byte[4 + 4 + t10.length + 4 + naa.length];
    p[1] = (byte) 0x83;
    p[3] = (byte) (p.length - 4);
    int i = 4;
    p[i] = 0x02; // ASCII code set
    p[i + 1] = 0x01; // association 0, type 1 (T10 vendor id)
    p[i + 3] = (byte) t10.length;
    System.arraycopy(t10, 0, p, i + 4, t10.length);
    i += 4 + t10.length;
    p[i] = 0x01; // binary code set
    p[i + 1] = 0x03; // association 0, type 3 (NAA)
    p[i + 3] = (byte) naa.length;
    System.arraycopy(naa, 0, p, i + 4, naa.length);
    return p;
  }

  @Test
  void readsSerialNaaAndWwidFromSysfs() throws Exception {
    Path dev = Files.createDirectories(sys.resolve("block/sdb/device"));
    Files.write(dev.resolve("vpd_pg80"), pg80("vol-0001    "));
    Files.write(dev.resolve("vpd_pg83"), pg83("6001405abcdef0123456789abcdef012"));
    Files.writeString(dev.resolve("wwid"), "naa.6001405abcdef0123456789abcdef012\n");
    var id = DeviceIdentity.read(new Sysfs(sys, sys.resolve("dev")), "sdb");
    assertThat(id.serial()).contains("vol-0001");
    assertThat(id.naa()).containsExactly("6001405abcdef0123456789abcdef012");
    assertThat(id.matches(Optional.of("vol-0001"), Optional.empty())).isTrue();
    assertThat(id.matches(Optional.empty(), Optional.of("naa.6001405ABCDEF0123456789ABCDEF012")))
        .isTrue();
    assertThat(id.matches(Optional.of("vol-0001"), Optional.of("6001405abcdef0123456789abcdef012")))
        .isTrue();
  }

  @Test
  void aDifferentDiskDoesNotMatch() throws Exception {
    Path dev = Files.createDirectories(sys.resolve("block/sdc/device"));
    Files.write(dev.resolve("vpd_pg80"), pg80("vol-0002"));
    Files.write(dev.resolve("vpd_pg83"), pg83("6001405000000000000000000000beef"));
    var id = DeviceIdentity.read(new Sysfs(sys, sys.resolve("dev")), "sdc");
    assertThat(id.matches(Optional.of("vol-0001"), Optional.empty())).isFalse();
    assertThat(id.matches(Optional.empty(), Optional.of("6001405abcdef0123456789abcdef012")))
        .isFalse();
    assertThat(id.matches(Optional.of("vol-0002"), Optional.of("6001405abcdef0123456789abcdef012")))
        .isFalse();
  }

  @Test
  void aDiskWithoutVpdPagesMatchesNoExpectation() {
    var id = DeviceIdentity.read(new Sysfs(sys, sys.resolve("dev")), "sdz");
    assertThat(id.serial()).isEmpty();
    assertThat(id.matches(Optional.of("x"), Optional.empty())).isFalse();
    assertThat(id.matches(Optional.empty(), Optional.of("6001405abcdef012"))).isFalse();
  }

  @Test
  void ignoresMalformedPages() {
    assertThat(DeviceIdentity.serial(new byte[] {0, (byte) 0x83, 0, 0})).isEmpty();
    assertThat(DeviceIdentity.naa(new byte[] {0, (byte) 0x83, 0, 40, 1, 3, 0, 90})).isEmpty();
  }
}
