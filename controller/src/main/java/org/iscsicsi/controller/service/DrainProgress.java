package org.iscsicsi.controller.service;

import java.util.List;
import java.util.Map;

/**
 * Where the drain of one engine stands (docs/pools.md section 7), what {@code status.drain} of
 * its IscsiEngine shows: {@code total} is what it held when the drain began plus what arrived
 * since, {@code moved} what went to other engines, {@code remaining} what it still holds, of
 * which {@code pending} detached (to be moved), {@code attached} the attached ones that block
 * the drain, and {@code errors} the volumes whose last move failed, with the reason.
 *
 * @param current the volume being moved now, or null between moves
 */
public record DrainProgress(String engine, int total, int moved, int remaining, int pending,
    List<String> attached, Map<String, String> errors, Current current) {

  /** The volume on its way, with the bytes sent of the transfer's total. */
  public record Current(String volumeId, String destination, long doneBytes, long totalBytes) {
  }

  public DrainProgress {
    attached = List.copyOf(attached);
    errors = Map.copyOf(errors);
  }

  /** True when the engine holds nothing any more. */
  public boolean drained() {
    return remaining == 0;
  }
}
