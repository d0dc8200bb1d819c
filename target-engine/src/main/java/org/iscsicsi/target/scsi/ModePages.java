package org.iscsicsi.target.scsi;

import java.util.List;

/**
 * The mode pages of a LUN (SPC-4 7.5, SBC-3 6.4): Caching (08h), Control (0Ah) and Informational
 * Exceptions Control (1Ch). Only the Caching page's WCE bit is changeable: with WCE off every write
 * reaches stable storage before status (write-through). Saved pages are not supported.
 */
final class ModePages {

  static final int CACHING = 0x08;
  static final int CONTROL = 0x0a;
  static final int INFORMATIONAL_EXCEPTIONS = 0x1c;
  static final int ALL = 0x3f;
  static final List<Integer> SUPPORTED = List.of(CACHING, CONTROL, INFORMATIONAL_EXCEPTIONS);

  private volatile boolean writeCacheEnabled = true;

  boolean writeCacheEnabled() {
    return writeCacheEnabled;
  }

  void reset() {
    writeCacheEnabled = true;
  }

  /** Page control: 0 current, 1 changeable, 2 default. */
  byte[] page(int code, int pageControl, boolean softwareWriteProtect) {
    return switch (code) {
      case CACHING -> caching(pageControl);
      case CONTROL -> control(pageControl, softwareWriteProtect);
      case INFORMATIONAL_EXCEPTIONS -> informationalExceptions(pageControl);
      default -> throw new IllegalArgumentException("page " + code);
    };
  }

  private byte[] caching(int pc) {
    byte[] p = new byte[20];
    p[0] = CACHING;
    p[1] = 18;
    switch (pc) {
      case 1 -> p[2] = 0x04; // WCE changeable
      case 2 -> p[2] = 0x04;
      default -> p[2] = (byte) (writeCacheEnabled ? 0x04 : 0);
    }
    return p;
  }

  private static byte[] control(int pc, boolean swp) {
    byte[] p = new byte[12];
    p[0] = CONTROL;
    p[1] = 10;
    if (pc == 1) {
      return p;
    }
    p[2] = 0x00; // TST 0 (one task set), D_SENSE 0 (fixed format)
    p[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering; QERR 0
    p[4] = (byte) (pc == 0 && swp ? 0x08 : 0); // SWP mirrors a read-only LUN or nexus
    p[5] = 0x00;
    Cdb.put16(p, 8, 0xffff); // busy timeout: unlimited
    return p;
  }

  private static byte[] informationalExceptions(int pc) {
    byte[] p = new byte[12];
    p[0] = INFORMATIONAL_EXCEPTIONS;
    p[1] = 10;
    if (pc == 1) {
      return p;
    }
    p[2] = 0x08; // DEXCPT: no informational exception reporting
    return p;
  }

  /**
   * Applies a page from MODE SELECT. Every byte must equal the current value except the changeable
   * bits.
   *
   * @param offset where the page starts in the parameter list, for the sense field pointer
   * @return whether a parameter changed
   */
  boolean select(byte[] page, int offset, boolean swp) throws CheckCondition {
    int code = page[0] & 0x3f;
    if ((page[0] & 0x40) != 0 || !SUPPORTED.contains(code)) {
      throw CheckCondition.invalidParameterField(offset, -1);
    }
    byte[] current = page(code, 0, swp);
    byte[] changeable = page(code, 1, swp);
    if (page.length != current.length || (page[1] & 0xff) != current.length - 2) {
      throw CheckCondition.invalidParameterField(offset + 1, -1);
    }
    for (int i = 2; i < page.length; i++) {
      if (((page[i] ^ current[i]) & ~changeable[i]) != 0) {
        throw CheckCondition.invalidParameterField(offset + i, -1);
      }
    }
    if (code == CACHING) {
      boolean wce = (page[2] & 0x04) != 0;
      boolean changed = wce != writeCacheEnabled;
      writeCacheEnabled = wce;
      return changed;
    }
    return false;
  }
}
