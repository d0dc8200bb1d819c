package org.iscsicsi.target.login;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Negotiates the operational keys of RFC 7143 section 13 as the responder, following the rules of
 * section 6.2: numerical keys take the minimum or maximum of both offers, booleans AND or OR, lists
 * the first value of the initiator's list this target accepts; declarative keys are recorded.
 * Malformed or out-of-range values get {@code Reject}, unknown keys (including X- extensions)
 * {@code NotUnderstood}, keys that have no meaning here {@code Irrelevant}.
 */
final class KeyNegotiator {

  static final String REJECT = "Reject";
  static final String IRRELEVANT = "Irrelevant";
  static final String NOT_UNDERSTOOD = "NotUnderstood";

  enum Rule { MIN, MAX, AND, OR, LIST, DECLARATIVE }

  record Key(String name, Rule rule, long min, long max, String rfcDefault) {
  }

  static final Map<String, Key> KEYS = new LinkedHashMap<>();

  static {
    for (Key k : List.of(
        new Key("HeaderDigest", Rule.LIST, 0, 0, "None"),
        new Key("DataDigest", Rule.LIST, 0, 0, "None"),
        new Key("MaxConnections", Rule.MIN, 1, 65535, "1"),
        new Key("InitialR2T", Rule.OR, 0, 0, "Yes"),
        new Key("ImmediateData", Rule.AND, 0, 0, "Yes"),
        new Key("MaxRecvDataSegmentLength", Rule.DECLARATIVE, 512, 16777215, "8192"),
        new Key("MaxBurstLength", Rule.MIN, 512, 16777215, "262144"),
        new Key("FirstBurstLength", Rule.MIN, 512, 16777215, "65536"),
        new Key("DefaultTime2Wait", Rule.MAX, 0, 3600, "2"),
        new Key("DefaultTime2Retain", Rule.MIN, 0, 3600, "20"),
        new Key("MaxOutstandingR2T", Rule.MIN, 1, 65535, "1"),
        new Key("DataPDUInOrder", Rule.OR, 0, 0, "Yes"),
        new Key("DataSequenceInOrder", Rule.OR, 0, 0, "Yes"),
        new Key("ErrorRecoveryLevel", Rule.MIN, 0, 2, "0"),
        // RFC 3720 markers, obsolete in RFC 7143 but still sent by open-iscsi: always off
        new Key("IFMarker", Rule.AND, 0, 0, "No"),
        new Key("OFMarker", Rule.AND, 0, 0, "No"),
        new Key("TaskReporting", Rule.LIST, 0, 0, "RFC3720"))) {
      KEYS.put(k.name(), k);
    }
  }

  /** The engine's preferred values (the RFC defaults where not configured). */
  static Map<String, String> defaults() {
    Map<String, String> d = new HashMap<>();
    KEYS.values().forEach(k -> d.put(k.name(), k.rfcDefault()));
    d.put("HeaderDigest", "CRC32C,None");
    d.put("DataDigest", "CRC32C,None");
    d.put("InitialR2T", "No");
    d.put("ImmediateData", "Yes");
    d.put("MaxRecvDataSegmentLength", "262144");
    d.put("MaxBurstLength", "1048576");
    d.put("FirstBurstLength", "262144");
    d.put("MaxOutstandingR2T", "16");
    d.put("DefaultTime2Retain", "0");
    return d;
  }

  private final Map<String, String> preferred;
  private final Map<String, String> agreed = new HashMap<>();

  /**
   * @param preferred this target's values (a list for list keys); must hold every key of
   *     {@link #KEYS}
   * @throws IllegalArgumentException when a configured value is malformed or out of range
   */
  KeyNegotiator(Map<String, String> preferred) {
    for (Key k : KEYS.values()) {
      String v = preferred.get(k.name());
      if (v == null) {
        throw new IllegalArgumentException("no value for " + k.name());
      }
      if (k.rule() == Rule.MIN || k.rule() == Rule.MAX || k.rule() == Rule.DECLARATIVE) {
        long n = parseNumber(v);
        if (n < k.min() || n > k.max()) {
          throw new IllegalArgumentException(k.name() + " out of range: " + v);
        }
      } else if ((k.rule() == Rule.AND || k.rule() == Rule.OR) && parseBoolean(v) == null) {
        throw new IllegalArgumentException(k.name() + " is not Yes or No: " + v);
      }
    }
    this.preferred = Map.copyOf(preferred);
  }

  /** True for the keys this class negotiates. */
  static boolean isOperational(String key) {
    return KEYS.containsKey(key) || key.equals("OFMarkInt") || key.equals("IFMarkInt");
  }

  /**
   * The answer to one key the initiator offered, or null when none is due (a declaration, or the
   * initiator answering with Reject/Irrelevant/NotUnderstood).
   */
  String negotiate(String name, String value) {
    if (name.equals("OFMarkInt") || name.equals("IFMarkInt")) {
      return IRRELEVANT; // markers are always off
    }
    Key key = KEYS.get(name);
    if (key == null) {
      return NOT_UNDERSTOOD;
    }
    if (value.equals(REJECT) || value.equals(IRRELEVANT) || value.equals(NOT_UNDERSTOOD)) {
      return null;
    }
    String mine = preferred.get(name);
    String result;
    switch (key.rule()) {
      case MIN, MAX, DECLARATIVE -> {
        long offered = parseNumber(value);
        if (offered < key.min() || offered > key.max()) {
          return REJECT;
        }
        if (key.rule() == Rule.DECLARATIVE) {
          agreed.put(name, Long.toString(offered));
          return null;
        }
        long own = parseNumber(mine);
        result = Long.toString(key.rule() == Rule.MIN ? Math.min(own, offered)
            : Math.max(own, offered));
      }
      case AND, OR -> {
        Boolean offered = parseBoolean(value);
        if (offered == null) {
          return REJECT;
        }
        boolean own = parseBoolean(mine);
        boolean r = key.rule() == Rule.AND ? own && offered : own || offered;
        result = r ? "Yes" : "No";
      }
      case LIST -> {
        List<String> acceptable = List.of(mine.split(","));
        result = null;
        for (String candidate : value.split(",")) {
          if (acceptable.contains(candidate)) {
            result = candidate;
            break;
          }
        }
        if (result == null) {
          return REJECT;
        }
      }
      default -> throw new IllegalStateException();
    }
    agreed.put(name, result);
    return result;
  }

  /** True when the initiator offered (or declared) this key. */
  boolean wasNegotiated(String name) {
    return agreed.containsKey(name);
  }

  /** This target's own MaxRecvDataSegmentLength, declared once during the operational stage. */
  int targetMaxRecvDataSegmentLength() {
    return (int) parseNumber(preferred.get("MaxRecvDataSegmentLength"));
  }

  /** The parameters in force: agreed values, RFC defaults for keys nobody offered. */
  SessionParameters result(boolean targetDeclaredMrdsl) {
    int maxBurst = number("MaxBurstLength");
    return new SessionParameters(
        value("HeaderDigest").equals("CRC32C"), value("DataDigest").equals("CRC32C"),
        number("MaxConnections"), flag("InitialR2T"), flag("ImmediateData"),
        number("MaxRecvDataSegmentLength"),
        targetDeclaredMrdsl ? targetMaxRecvDataSegmentLength() : 8192,
        maxBurst, Math.min(number("FirstBurstLength"), maxBurst), number("DefaultTime2Wait"),
        number("DefaultTime2Retain"), number("MaxOutstandingR2T"), flag("DataPDUInOrder"),
        flag("DataSequenceInOrder"), number("ErrorRecoveryLevel"));
  }

  private String value(String name) {
    String v = agreed.get(name);
    return v != null ? v : KEYS.get(name).rfcDefault();
  }

  private int number(String name) {
    return (int) parseNumber(value(name));
  }

  private boolean flag(String name) {
    return Boolean.TRUE.equals(parseBoolean(value(name)));
  }

  /** Decimal, or hexadecimal with 0x (section 6.1); -1 when malformed. */
  static long parseNumber(String v) {
    try {
      if (v.length() > 2 && v.toLowerCase(Locale.ROOT).startsWith("0x")) {
        return v.length() > 18 ? -1 : Long.parseLong(v.substring(2), 16);
      }
      return v.isEmpty() || v.length() > 18 ? -1 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static Boolean parseBoolean(String v) {
    return switch (v) {
      case "Yes" -> Boolean.TRUE;
      case "No" -> Boolean.FALSE;
      default -> null;
    };
  }
}
