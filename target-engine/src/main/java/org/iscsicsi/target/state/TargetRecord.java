package org.iscsicsi.target.state;

import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.acl.InitiatorGrant;

/**
 * The persisted definition of one target. Immutable; collections are sorted so that the state
 * file is stable and diffs stay small.
 *
 * @param incomingChap the secret initiators authenticate with, or null
 * @param outgoingChap the secret the target answers mutual CHAP with, or null
 */
public record TargetRecord(String name, String alias, int portalGroupTag,
    Map<String, String> labels, Map<String, String> parameters,
    List<InitiatorGrant> grants, ChapSecret incomingChap, ChapSecret outgoingChap,
    List<LunRecord> luns) {

  public TargetRecord {
    alias = alias == null ? "" : alias;
    labels = sorted(labels);
    parameters = sorted(parameters);
    grants = grants == null ? List.of()
        : grants.stream().sorted(Comparator.comparing(InitiatorGrant::initiator)).toList();
    luns = luns == null ? List.of()
        : luns.stream().sorted(Comparator.comparingInt(LunRecord::lun)).toList();
  }

  public Optional<LunRecord> lun(int lun) {
    return luns.stream().filter(l -> l.lun() == lun).findFirst();
  }

  public TargetRecord withLabels(Map<String, String> newLabels) {
    return new TargetRecord(name, alias, portalGroupTag, sorted(newLabels), parameters, grants,
        incomingChap, outgoingChap, luns);
  }

  public TargetRecord withGrants(List<InitiatorGrant> newGrants) {
    return new TargetRecord(name, alias, portalGroupTag, labels, parameters, newGrants,
        incomingChap, outgoingChap, luns);
  }

  public TargetRecord withChap(ChapSecret incoming, ChapSecret outgoing) {
    return new TargetRecord(name, alias, portalGroupTag, labels, parameters, grants, incoming,
        outgoing, luns);
  }

  public TargetRecord withLuns(List<LunRecord> newLuns) {
    return new TargetRecord(name, alias, portalGroupTag, labels, parameters, grants, incomingChap,
        outgoingChap, newLuns);
  }

  /** A copy with {@code lun} added or replaced. */
  public TargetRecord withLun(LunRecord lun) {
    return withLuns(java.util.stream.Stream.concat(
        luns.stream().filter(l -> l.lun() != lun.lun()), java.util.stream.Stream.of(lun)).toList());
  }

  public TargetRecord withoutLun(int lun) {
    return withLuns(luns.stream().filter(l -> l.lun() != lun).toList());
  }

  @Override
  public String toString() {
    // No secrets: ChapSecret.toString redacts, but be explicit about what a record shows.
    return "TargetRecord[name=" + name + ", luns=" + luns.size() + ", grants=" + grants.size()
        + ", chap=" + (incomingChap != null) + "]";
  }

  private static Map<String, String> sorted(Map<String, String> m) {
    return m == null ? Collections.emptySortedMap()
        : Collections.unmodifiableSortedMap(new TreeMap<>(m));
  }
}
