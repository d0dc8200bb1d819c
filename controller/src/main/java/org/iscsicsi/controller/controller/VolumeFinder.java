package org.iscsicsi.controller.controller;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.v1.Target;

/** Reads volumes back from the engines (their targets are the only record of them). */
final class VolumeFinder {

  private final Engines engines;
  private final ControllerConfig config;

  VolumeFinder(Engines engines, ControllerConfig config) {
    this.engines = engines;
    this.config = config;
  }

  /** The volume with this id, complete or not; empty when the id is not ours or it is gone. */
  Optional<Located> find(String volumeId) {
    Optional<VolumeId> id = VolumeId.parse(volumeId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    Optional<Engine> engine = engines.byName(id.get().engine());
    if (engine.isEmpty()) {
      return Optional.empty();
    }
    return engine.get().client().findTarget(id.get().iqn(config.iqnPrefix()))
        .filter(this::ours)
        .map(t -> new Located(engine.get(), new VolumeRecord(id.get(), t)));
  }

  /**
   * A complete volume.
   *
   * @throws io.grpc.StatusRuntimeException NOT_FOUND when there is none with this id
   */
  Located require(String volumeId) {
    return find(volumeId).filter(l -> l.volume().complete())
        .orElseThrow(() -> CsiErrors.notFound("volume " + volumeId + " does not exist"));
  }

  /** Every complete volume on every engine, in id order. */
  List<Located> all() {
    List<Located> out = new ArrayList<>();
    for (Engine engine : engines.all()) {
      String prefix = config.iqnPrefix() + ":";
      for (Target t : engine.client().listTargets(VolumeLabels.selector(config.driverName()))) {
        if (!t.getName().startsWith(prefix)) {
          continue;
        }
        VolumeId.parse(t.getName().substring(prefix.length()))
            .filter(id -> id.engine().equals(engine.name()))
            .map(id -> new VolumeRecord(id, t))
            .filter(VolumeRecord::complete)
            .ifPresent(v -> out.add(new Located(engine, v)));
      }
    }
    out.sort(Comparator.comparing(l -> l.volume().id().toString()));
    return out;
  }

  private boolean ours(Target t) {
    return config.driverName().equals(t.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""));
  }
}
