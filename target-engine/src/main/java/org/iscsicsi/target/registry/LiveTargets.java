package org.iscsicsi.target.registry;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.state.TargetRecord;

/**
 * The targets as the iSCSI event loops see them: an immutable map replaced as a whole after every
 * change (under the registry's lock) and read without locking.
 */
final class LiveTargets implements TargetDirectory {

  private volatile Map<String, ExportedTarget> byName = Map.of();
  private volatile List<ExportedTarget> list = List.of();

  /** Replaces what readers see with {@code targets}, each on its (long-lived) port. */
  void publish(Collection<TargetRecord> targets, OpenUnits units) {
    Map<String, ExportedTarget> m = new HashMap<>();
    List<ExportedTarget> l = new ArrayList<>();
    for (TargetRecord t : targets) {
      LiveTarget lt = new LiveTarget(t, units.port(t.name()));
      m.put(t.name(), lt);
      l.add(lt);
    }
    byName = Map.copyOf(m);
    list = List.copyOf(l);
  }

  void clear() {
    byName = Map.of();
    list = List.of();
  }

  /** The published target under its normalized name, or null. */
  ExportedTarget get(String normalizedName) {
    return byName.get(normalizedName);
  }

  @Override
  public Optional<ExportedTarget> target(String name) {
    Map<String, ExportedTarget> m = byName;
    ExportedTarget t = m.get(name);
    if (t == null && name != null) {
      t = m.get(IscsiNames.normalize(name));
    }
    return Optional.ofNullable(t);
  }

  @Override
  public List<ExportedTarget> targets() {
    return list;
  }
}
