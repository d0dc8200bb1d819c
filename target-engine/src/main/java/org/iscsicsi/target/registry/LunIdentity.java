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
  private static final java.util.regex.Pattern NAA =
      java.util.regex.Pattern.compile("6[0-9a-f]{31}");
  private static final java.util.regex.Pattern SERIAL =
      java.util.regex.Pattern.compile("[\\x21-\\x7e]{1,64}");

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

  /**
   * {@code wanted}, checked: a 32-hex-digit NAA 6 designator and a serial of 1 to 64 printable
   * characters (INVALID_ARGUMENT otherwise), used by no LUN of this engine (ALREADY_EXISTS).
   */
  public static Identity requireUnused(Identity wanted, Set<String> usedSerials,
      Set<String> usedNaas) {
    Identity id = checked(wanted);
    if (usedSerials.contains(id.serial()) || usedNaas.contains(id.naa())) {
      throw new RegistryException(RegistryException.Reason.ALREADY_EXISTS, "a LUN of this "
          + "engine already has NAA " + id.naa() + " or serial " + id.serial());
    }
    return id;
  }

  /** The identity in canonical form (lower-case NAA), INVALID_ARGUMENT when malformed. */
  public static Identity checked(Identity wanted) {
    String naa = wanted.naa() == null ? "" : wanted.naa().toLowerCase(java.util.Locale.ROOT);
    String serial = wanted.serial() == null ? "" : wanted.serial();
    if (!NAA.matcher(naa).matches()) {
      throw RegistryException.invalid("NAA must be 32 hex digits starting with 6 (NAA IEEE "
          + "Registered Extended): " + naa);
    }
    if (!SERIAL.matcher(serial).matches()) {
      throw RegistryException.invalid("serial must be 1 to 64 printable ASCII characters");
    }
    return new Identity(serial, naa);
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
