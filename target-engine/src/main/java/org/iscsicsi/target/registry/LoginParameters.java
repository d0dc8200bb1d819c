package org.iscsicsi.target.registry;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Validation of per-target login key defaults (RFC 7143 section 13): only keys a target may
 * configure, with values in the ranges the RFC allows, in the RFC's spelling.
 */
public final class LoginParameters {

  private record Range(long min, long max) {
  }

  private static final Map<String, Range> NUMERIC = Map.of(
      "MaxRecvDataSegmentLength", new Range(512, 16_777_215),
      "MaxBurstLength", new Range(512, 16_777_215),
      "FirstBurstLength", new Range(512, 16_777_215),
      "MaxConnections", new Range(1, 65_535),
      "MaxOutstandingR2T", new Range(1, 65_535),
      "DefaultTime2Wait", new Range(0, 3600),
      "DefaultTime2Retain", new Range(0, 3600),
      "ErrorRecoveryLevel", new Range(0, 2));
  private static final Set<String> BOOLEAN = Set.of("InitialR2T", "ImmediateData",
      "DataPDUInOrder", "DataSequenceInOrder");
  private static final Set<String> DIGEST = Set.of("HeaderDigest", "DataDigest");

  private LoginParameters() {
  }

  /** Returns the parameters if every key and value is acceptable. */
  public static Map<String, String> validate(Map<String, String> params) {
    Map<String, String> out = new TreeMap<>();
    for (var e : params.entrySet()) {
      String key = e.getKey();
      String value = e.getValue() == null ? "" : e.getValue();
      if (NUMERIC.containsKey(key)) {
        Range r = NUMERIC.get(key);
        long v;
        try {
          v = Long.parseLong(value);
        } catch (NumberFormatException ex) {
          throw RegistryException.invalid("login parameter " + key + "='" + value
              + "' is not a number");
        }
        if (v < r.min() || v > r.max()) {
          throw RegistryException.invalid("login parameter " + key + "=" + v + " is outside "
              + r.min() + ".." + r.max() + " (RFC 7143 section 13)");
        }
      } else if (BOOLEAN.contains(key)) {
        if (!value.equals("Yes") && !value.equals("No")) {
          throw RegistryException.invalid("login parameter " + key + " must be Yes or No");
        }
      } else if (DIGEST.contains(key)) {
        for (String d : value.split(",", -1)) {
          if (!d.equals("None") && !d.equals("CRC32C")) {
            throw RegistryException.invalid("login parameter " + key
                + " must be a list of None and CRC32C, not '" + value + "'");
          }
        }
      } else {
        throw RegistryException.invalid("unknown or not per-target login parameter '" + key
            + "' (allowed: " + new TreeMap<>(Map.of("numeric", NUMERIC.keySet(), "Yes/No",
            BOOLEAN, "digests", DIGEST)) + ")");
      }
      out.put(key, value);
    }
    long first = Long.parseLong(out.getOrDefault("FirstBurstLength", "65536"));
    long max = Long.parseLong(out.getOrDefault("MaxBurstLength", "262144"));
    if (first > max) {
      throw RegistryException.invalid("login parameter FirstBurstLength (" + first
          + ") exceeds MaxBurstLength (" + max + ")");
    }
    return out;
  }
}
