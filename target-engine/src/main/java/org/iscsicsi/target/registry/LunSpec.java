package org.iscsicsi.target.registry;

import org.iscsicsi.target.qos.QosLimits;

/**
 * What CreateLun asks for.
 *
 * @param blockSize 512, 4096, or 0 for the default (512, or the source's block size)
 * @param source where the initial content comes from
 * @param qos the new LUN's I/O limits (not part of its definition: a repeated CreateLun of an
 *     existing LUN keeps the limits it has)
 * @param identity the NAA and serial to reuse (a moved or replicated volume keeps its identity),
 *     or null for new ones
 * @param backend the backend the LUN's bytes come from, null or empty for the engine's default
 * @param portSlot the ALUA port slot (1-65535; the LUN starts active/optimized), 0 for none
 */
public record LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
    boolean readOnly, Source source, QosLimits qos, LunIdentity.Identity identity,
    String backend, int portSlot) {

  public LunSpec {
    qos = qos == null ? QosLimits.NONE : qos;
    backend = backend == null ? "" : backend;
  }

  /** A LUN on the default backend without a port slot. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source, QosLimits qos, LunIdentity.Identity identity) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, qos, identity, null, 0);
  }

  /** A LUN on {@code backend} without a port slot. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source, QosLimits qos, LunIdentity.Identity identity,
      String backend) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, qos, identity, backend, 0);
  }

  /** A LUN on the default backend with a port slot. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source, QosLimits qos, LunIdentity.Identity identity,
      int portSlot) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, qos, identity, null,
        portSlot);
  }

  /** A LUN without I/O limits, with a new identity. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, QosLimits.NONE, null);
  }

  /** A LUN with I/O limits and a new identity. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source, QosLimits qos) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, qos, null);
  }

  /** A LUN without I/O limits that reuses {@code identity}. */
  public LunSpec(String target, int lun, long sizeBytes, int blockSize, boolean thick,
      boolean readOnly, Source source, LunIdentity.Identity identity) {
    this(target, lun, sizeBytes, blockSize, thick, readOnly, source, QosLimits.NONE, identity);
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
