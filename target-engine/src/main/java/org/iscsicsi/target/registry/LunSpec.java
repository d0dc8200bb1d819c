package org.iscsicsi.target.registry;

/**
 * What CreateLun asks for.
 *
 * @param blockSize 512, 4096, or 0 for the default (512, or the source's block size)
 * @param source where the initial content comes from
 * @param identity the NAA and serial to reuse (a moved or replicated volume keeps its identity),
 *     or null for new ones
 */
public record LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
    boolean readOnly, Source source, LunIdentity.Identity identity) {

  /** A LUN with a new identity. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, null);
  }

  /** The initial content of a new LUN. */
  public sealed interface Source {
  }

  /** Zeros. */
  public record Empty() implements Source {
  }

  /** A copy of a snapshot. */
  public record FromSnapshot(String snapshotId) implements Source {
  }

  /** A copy of another LUN, taken while its writes are held. */
  public record CloneOf(String target, int lun) implements Source {
  }
}
