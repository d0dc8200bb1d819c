package org.iscsicsi.target.registry;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Chooses a new LUN's identity: a unit serial number (VPD page 0x80) and an NAA IEEE Registered
 * Extended designator (NAA 6, SPC-4 7.8.6.6.4), both unique within the engine and random enough to
 * be unique across engines (100 random bits in the NAA, 64 in the serial).
 *
 * <p>Layout of the 16-byte designator: NAA (4 bits, = 6), IEEE company id (24 bits), vendor
 * specific identifier (36 bits), vendor specific identifier extension (64 bits). This project holds
 * no IEEE assignment, so it uses the company id {@value #COMPANY_ID_HEX}. Its first octet 0x0A
 * has the X (local) bit set and the M bit clear: the form of an IEEE CID, a space IEEE never hands
 * out as a MAC OUI, so these ids cannot collide with those of a NIC or array vendor. The 100 random
 * bits below it keep LUNs apart.
 */
public final class LunIdentity {

  /** The IEEE company id in our NAA designators. */
  public static final int COMPANY_ID = 0x0A4953;
  static final String COMPANY_ID_HEX = "0x0A4953";

  private static final SecureRandom RANDOM = new SecureRandom();

  private LunIdentity() {
  }

  /** A new identity whose serial and NAA are in neither set. */
  public static Identity next(Set<String> usedSerials, Set<String> usedNaas) {
    while (true) {
      Identity id = random();
      if (!usedSerials.contains(id.serial()) && !usedNaas.contains(id.naa())) {
        return id;
      }
    }
  }

  static Identity random() {
    byte[] naa = new byte[16];
    RANDOM.nextBytes(naa);
    naa[0] = (byte) (0x60 | ((COMPANY_ID >>> 20) & 0x0f));
    naa[1] = (byte) (COMPANY_ID >>> 12);
    naa[2] = (byte) (COMPANY_ID >>> 4);
    naa[3] = (byte) (((COMPANY_ID & 0x0f) << 4) | (naa[3] & 0x0f));
    byte[] serial = new byte[8];
    RANDOM.nextBytes(serial);
    return new Identity(HexFormat.of().withUpperCase().formatHex(serial),
        HexFormat.of().formatHex(naa));
  }

  /**
   * @param serial 16 upper-case hex digits
   * @param naa 32 lower-case hex digits
   */
  public record Identity(String serial, String naa) {
  }
}
