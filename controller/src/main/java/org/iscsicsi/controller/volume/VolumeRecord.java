package org.iscsicsi.controller.volume;

import csi.v1.Csi;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.Target;

/**
 * A CSI volume as read back from its target: the target's labels hold the CSI metadata
 * ({@link VolumeLabels}), LUN 0 holds the data, the grants are the nodes it is published to.
 * A target without LUN 0 is a CreateVolume that did not finish.
 */
public record VolumeRecord(VolumeId id, Target target) {

  public String name() {
    return target.getLabelsOrDefault(VolumeLabels.NAME, "");
  }

  public VolumeParameters parameters() {
    return VolumeLabels.parameters(target.getLabelsMap());
  }

  public Optional<Lun> lun() {
    return target.getLunsList().stream().filter(l -> l.getLun() == 0).findFirst();
  }

  public boolean complete() {
    return lun().isPresent();
  }

  public long sizeBytes() {
    return lun().map(Lun::getSizeBytes).orElse(0L);
  }

  /** "snapshot:&lt;id&gt;", "volume:&lt;id&gt;" or "". */
  public String source() {
    return target.getLabelsOrDefault(VolumeLabels.SOURCE, "");
  }

  public String accessTypes() {
    return target.getLabelsOrDefault(VolumeLabels.ACCESS_TYPES, "");
  }

  /** Initiators granted access (CSI node ids), without the "ALL" wildcard. */
  public List<InitiatorGrant> grants() {
    return target.getGrantsList().stream().filter(g -> !g.getInitiator().equals("ALL")).toList();
  }

  public List<String> publishedNodes() {
    return grants().stream().map(InitiatorGrant::getInitiator).sorted().toList();
  }

  /** The volume's condition: abnormal when the engine reports its backing file unusable. */
  public Csi.VolumeCondition condition() {
    String problem = lun().map(Lun::getCondition).orElse("LUN 0 is missing");
    return problem.isEmpty()
        ? Csi.VolumeCondition.newBuilder().setAbnormal(false).setMessage("healthy").build()
        : Csi.VolumeCondition.newBuilder().setAbnormal(true).setMessage(problem).build();
  }

  public Map<String, String> volumeContext() {
    VolumeParameters p = parameters();
    return Map.of(PublishContext.FS_TYPE, p.fsType(),
        PublishContext.CHAP, Boolean.toString(p.chap()),
        VolumeParameters.MUTUAL_CHAP, Boolean.toString(p.mutualChap()));
  }

  /** The CSI view, with the engine's topology. */
  public Csi.Volume toCsi(Map<String, String> topology) {
    return toCsi(List.of(topology));
  }

  /**
   * The CSI view, accessible from each of {@code topologies} (a replicated volume: every
   * member's engine, since any of them may serve it); empty segments and repeats are left out.
   */
  public Csi.Volume toCsi(List<Map<String, String>> topologies) {
    Csi.Volume.Builder b = Csi.Volume.newBuilder()
        .setVolumeId(id.toString())
        .setCapacityBytes(sizeBytes())
        .putAllVolumeContext(volumeContext());
    String source = source();
    if (source.startsWith("snapshot:")) {
      b.setContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
          Csi.VolumeContentSource.SnapshotSource.newBuilder()
              .setSnapshotId(source.substring("snapshot:".length()))));
    } else if (source.startsWith("volume:")) {
      b.setContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
          Csi.VolumeContentSource.VolumeSource.newBuilder()
              .setVolumeId(source.substring("volume:".length()))));
    }
    topologies.stream().filter(t -> !t.isEmpty()).distinct().forEach(t ->
        b.addAccessibleTopology(Csi.Topology.newBuilder().putAllSegments(t)));
    return b.build();
  }
}
