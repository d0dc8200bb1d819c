package org.iscsicsi.controller.volume;

import java.util.Optional;
import java.util.regex.Pattern;
import org.iscsicsi.target.engine.EngineName;
import org.iscsicsi.target.names.ShortHash;

/**
 * A CSI volume or snapshot id: {@code <engine>.<local>}, where {@code engine} names the target
 * engine that holds it and {@code local} is derived from the CSI name, so that a retried
 * CreateVolume/CreateSnapshot finds what an earlier attempt made (CSI spec, CreateVolume:
 * "idempotency"). Names that are already short DNS labels (Kubernetes' {@code pvc-<uuid>}) are kept
 * as they are, which makes target IQNs readable; any other name becomes {@code h-} and 24 hex
 * digits of its SHA-256. Two names can only share an id through a hash collision, and the
 * services compare the stored name before reusing anything.
 *
 * <p>Each volume is its own iSCSI target, named {@code <iqn-prefix>:<volume-id>} (RFC 7143
 * section 4.2.7.2: lowercase letters, digits, '.', '-' and ':' are always valid).
 */
public record VolumeId(String engine, String local) {

  /**
   * The first part of every id in pool mode (docs/pools.md, section 3): such a volume may move
   * between engines or live on several, so its id names none of them. No engine may be named so.
   */
  public static final String POOL = EngineName.POOL;

  private static final Pattern ENGINE = EngineName.RULE;
  private static final Pattern LOCAL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  public VolumeId {
    if (!ENGINE.matcher(engine).matches()) {
      throw new IllegalArgumentException("bad engine name: " + engine);
    }
    if (!LOCAL.matcher(local).matches()) {
      throw new IllegalArgumentException("bad local volume id: " + local);
    }
  }

  /** True when {@code name} may name a target engine ({@link #POOL} is reserved). */
  public static boolean isEngineName(String name) {
    return EngineName.isValid(name);
  }

  /** True for a pool-mode id, which names no engine. */
  public boolean pooled() {
    return POOL.equals(engine);
  }

  /** The id a CSI name gets on {@code engine}. */
  public static VolumeId forName(String engine, String csiName) {
    if (LOCAL.matcher(csiName).matches() && !csiName.startsWith("h-")) {
      return new VolumeId(engine, csiName);
    }
    return new VolumeId(engine, "h-" + ShortHash.of(csiName));
  }

  /** Parses an id from a request; empty when it cannot be one of ours. */
  public static Optional<VolumeId> parse(String id) {
    int dot = id.indexOf('.');
    if (dot <= 0) {
      return Optional.empty();
    }
    String engine = id.substring(0, dot);
    String local = id.substring(dot + 1);
    if (!ENGINE.matcher(engine).matches() || !LOCAL.matcher(local).matches()) {
      return Optional.empty();
    }
    return Optional.of(new VolumeId(engine, local));
  }

  /** The target IQN of this volume. */
  public String iqn(String iqnPrefix) {
    return iqnPrefix + ":" + toString();
  }

  @Override
  public String toString() {
    return engine + "." + local;
  }
}
