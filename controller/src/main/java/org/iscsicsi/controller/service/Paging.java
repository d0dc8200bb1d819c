package org.iscsicsi.controller.service;

import java.util.List;
import org.iscsicsi.controller.volume.CsiErrors;

/**
 * ListVolumes/ListSnapshots paging (CSI spec: max_entries, starting_token, next_token): the token
 * is the decimal offset of the next entry in id order. A token that is not one we could have
 * handed out is ABORTED, as the spec prescribes for an invalid starting_token.
 */
record Paging<T>(List<T> page, String nextToken) {

  static <T> Paging<T> of(List<T> sorted, int maxEntries, String startingToken) {
    if (maxEntries < 0) {
      throw CsiErrors.invalid("max_entries must not be negative");
    }
    int start = 0;
    if (!startingToken.isEmpty()) {
      try {
        start = Integer.parseInt(startingToken);
      } catch (NumberFormatException e) {
        throw CsiErrors.aborted("starting_token \"" + startingToken + "\" is not a token this "
            + "plugin issued");
      }
      if (start < 0 || start > sorted.size()) {
        throw CsiErrors.aborted("starting_token " + startingToken + " is past the end ("
            + sorted.size() + " entries)");
      }
    }
    int end = maxEntries == 0 ? sorted.size() : Math.min(sorted.size(), start + maxEntries);
    String next = end < sorted.size() ? Integer.toString(end) : "";
    return new Paging<>(List.copyOf(sorted.subList(start, end)), next);
  }
}
