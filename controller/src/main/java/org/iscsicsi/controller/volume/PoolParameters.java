package org.iscsicsi.controller.volume;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The StorageClass parameters that only pool mode understands (docs/pools.md, sections 4 and
 * 9): {@code placement}, {@code backend} and {@code replicas}. Placement and backend choose where
 * a volume goes, not what it is, so they are not part of a volume's identity; {@code replicas}
 * above 1 is (docs/replication.md section 11: a retry with another count is ALREADY_EXISTS). A
 * controller without a pool (the embedded default, static engines) refuses them, naming the Helm
 * value that turns pool mode on.
 *
 * @param placement the {@code placement} parameter, if given
 * @param backend the {@code backend} parameter, if given
 * @param replicas copies of the volume, 1 unless given
 */
public record PoolParameters(Optional<PlacementPolicy> placement, Optional<String> backend,
    int replicas) {

  public static final String PLACEMENT = "placement";
  public static final String BACKEND = "backend";
  public static final String REPLICAS = "replicas";
  /** The backend every engine has: sparse or preallocated files. */
  public static final String FILEIO = "fileio";
  /** What a StorageClass's pool-mode parameters need. */
  public static final String POOL_MODE = "engines.mode: pool";

  public static final PoolParameters DEFAULT =
      new PoolParameters(Optional.empty(), Optional.empty(), 1);

  private static final Pattern BACKEND_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");
  /** One primary and up to two replicas: the member slots of a membership. */
  public static final int MAX_REPLICAS =
      org.iscsicsi.target.kube.MembershipTransitions.MAX_SLOTS;

  /** The policy that orders engines: the parameter's, else {@code leastAllocated}. */
  public PlacementPolicy policy() {
    return placement.orElse(PlacementPolicy.LEAST_ALLOCATED);
  }

  static PlacementPolicy parsePlacement(String value) {
    return PlacementPolicy.of(value).orElseThrow(() -> CsiErrors.invalid("parameter "
        + PLACEMENT + ": \"" + value + "\" is not " + PlacementPolicy.LEAST_ALLOCATED.parameter()
        + " or " + PlacementPolicy.SPREAD_ZONES.parameter()));
  }

  static String parseBackend(String value) {
    if (!BACKEND_NAME.matcher(value).matches()) {
      throw CsiErrors.invalid("parameter " + BACKEND + ": \"" + value + "\" is not a backend "
          + "name (lowercase letters, digits and '-', at most 32)");
    }
    return value;
  }

  static int parseReplicas(String value) {
    try {
      int n = Integer.parseInt(value);
      if (n >= 1 && n <= MAX_REPLICAS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw CsiErrors.invalid("parameter " + REPLICAS + ": \"" + value + "\" is not a whole "
        + "number from 1 to " + MAX_REPLICAS);
  }

  /**
   * Checks that this controller can honour these parameters.
   *
   * @param pooled whether the controller places volumes on a pool of engines
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the parameter (and, without a
   *     pool, {@link #POOL_MODE})
   */
  public void requireSupported(boolean pooled) {
    if (!pooled) {
      if (placement.isPresent()) {
        throw needsPool(PLACEMENT, placement.get().parameter());
      }
      if (backend.isPresent() && !backend.get().equals(FILEIO)) {
        throw needsPool(BACKEND, backend.get());
      }
      if (replicas > 1) {
        throw needsPool(REPLICAS, Integer.toString(replicas));
      }
      return;
    }
    // a backend is the engines' to offer, as is replication: placement skips engines without
  }

  /** Whether the volume is kept on more than one engine. */
  public boolean replicated() {
    return replicas > 1;
  }

  private static io.grpc.StatusRuntimeException needsPool(String key, String value) {
    return CsiErrors.invalid("parameter " + key + " (\"" + value + "\") needs a pool of "
        + "engines (Helm value " + POOL_MODE + "); this controller places volumes on its own "
        + "engines");
  }
}
