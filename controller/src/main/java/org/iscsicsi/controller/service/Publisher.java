package org.iscsicsi.controller.service;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.AccessRules;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.ExternalVolume;
import org.iscsicsi.controller.volume.IscsiNames;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Lun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaching volumes to nodes (CSI spec, ControllerPublishVolume / ControllerUnpublishVolume). A
 * node id is the node's iSCSI initiator name, as the node plugin reports it in NodeGetInfo;
 * publishing grants that initiator on the volume's target, unpublishing revokes the grant and
 * closes the initiator's sessions (the engine does both in RevokeInitiator).
 *
 * <p>CHAP: credentials in the publish secrets (the class's controller-publish Secret) are set on
 * the target and take precedence over generated ones, whose Secret then goes (it no longer
 * matches the target). Without publish secrets, generated credentials are set again from the
 * volume's Secret (so new values written into it, or a new Secret after it was deleted, take
 * effect at the next attach, when the node reads the same Secret); other CHAP volumes need a
 * target that already requires CHAP (the provisioner's secrets at CreateVolume), otherwise
 * INVALID_ARGUMENT.
 *
 * <p>A replicated volume ({@link ReplicaMembers}) is granted, and its CHAP set, on the primary
 * and then on every reachable member (one that does not answer is passed over, logged); its
 * publish context is for multipath: every member's portals in slot order, {@code multipath:
 * "true"} and {@code wwid: 3<naa>}. Unpublish revokes on the primary and every
 * reachable member.
 *
 * <p>External volumes ({@link ExternalVolume}, static PVs on another array) are answered from
 * their volume attributes without touching an engine.
 */
final class Publisher {

  private static final Logger log = LoggerFactory.getLogger(Publisher.class);

  private final VolumeFinder finder;
  private final OperationLocks locks;
  private final Drainer drainer;
  private final GeneratedChap chap;
  private final Engines engines;

  Publisher(Engines engines, VolumeFinder finder, OperationLocks locks,
      ChapSecretStore chapSecrets, Drainer drainer) {
    this.engines = engines;
    this.drainer = drainer;
    this.finder = finder;
    this.locks = locks;
    this.chap = new GeneratedChap(chapSecrets);
  }

  Csi.ControllerPublishVolumeResponse publish(Csi.ControllerPublishVolumeRequest req) {
    String volumeId = req.getVolumeId();
    String node = req.getNodeId();
    if (volumeId.isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (node.isEmpty()) {
      throw CsiErrors.invalid("node_id is required");
    }
    if (!req.hasVolumeCapability()) {
      throw CsiErrors.invalid("volume_capability is required");
    }
    AccessRules.requireWellFormed(req.getVolumeCapability());
    if (ExternalVolume.isExternal(volumeId)) {
      return publishExternal(req);
    }
    try (OperationLocks.Held held = locks.acquire(volumeId, "ControllerPublishVolume")) {
      // a volume on its way off a draining engine stays there: the attach wins over the move
      drainer.cancelMove(volumeId, "ControllerPublishVolume");
      Located l = finder.require(volumeId);
      if (!IscsiNames.valid(node)) {
        throw CsiErrors.notFound("node " + node + " does not exist: node ids are iSCSI "
            + "initiator names (iqn., eui. or naa.)");
      }
      VolumeRecord v = l.volume();
      VolumeParameters params = v.parameters();
      Optional<String> why = AccessRules.unsupported(req.getVolumeCapability(), params);
      if (why.isPresent()) {
        throw CsiErrors.invalid("volume capability not supported: " + why.get());
      }
      Mode mode = req.getVolumeCapability().getAccessMode().getMode();
      boolean readOnly = req.getReadonly() || AccessRules.readOnly(mode);
      List<InitiatorGrant> grants = v.grants();
      Optional<InitiatorGrant> mine =
          grants.stream().filter(g -> g.getInitiator().equals(node)).findFirst();
      if (mine.isPresent()) {
        if (mine.get().getReadOnly() != readOnly) {
          throw CsiErrors.alreadyExists("volume " + volumeId + " is already published to "
              + node + (mine.get().getReadOnly() ? " read-only" : " read-write"));
        }
        grantMembers(l, node, readOnly, req.getSecretsMap());
        return response(l, readOnly, params);
      }
      if (!grants.isEmpty()) {
        String current = v.target().getLabelsOrDefault(VolumeLabels.PUBLISH_MODE, "");
        boolean shareable = !AccessRules.singleNode(mode) && current.equals(mode.name());
        if (!shareable) {
          throw CsiErrors.failedPrecondition("volume " + volumeId + " is published to "
              + v.publishedNodes() + (current.isEmpty() ? "" : " as " + current)
              + "; " + mode + " does not allow another node");
        }
      }
      Map<String, String> labels = new TreeMap<>(v.target().getLabelsMap());
      if (params.chap()) {
        requireChap(l, req.getSecretsMap(), labels);
      }
      if (grants.isEmpty()) {
        labels.put(VolumeLabels.PUBLISH_MODE, mode.name());
      }
      if (!labels.equals(v.target().getLabelsMap())) {
        l.engine().client().setLabels(l.iqn(), labels);
      }
      finder.updated(l.engine(), v.id(), l.engine().client().grant(l.iqn(), node, readOnly));
      grantMembers(l, node, readOnly, req.getSecretsMap());
      log.info("published volume {} to {}{}", volumeId, node, readOnly ? " read-only" : "");
      return response(l, readOnly, params);
    }
  }

  /** A replicated volume's grant and CHAP on every reachable member but the primary. */
  private void grantMembers(Located l, String node, boolean readOnly,
      Map<String, String> secrets) {
    if (!ReplicaMembers.replicated(l.volume())) {
      return;
    }
    VolumeRecord v = l.volume();
    for (Engine member : ReplicaMembers.others(v, l.engine(), engines, true)) {
      try {
        if (v.parameters().chap()) {
          if (ChapCredentials.present(secrets)) {
            member.client().setChap(ChapCredentials.fromSecrets(secrets).toRequest(l.iqn()));
          } else if (GeneratedChap.of(v)) {
            chap.apply(new Located(member, v)); // the same IQN, so the same kept credentials
          }
        }
        member.client().grant(l.iqn(), node, readOnly);
      } catch (io.grpc.StatusRuntimeException e) {
        if (!VolumeFinder.unanswered(e)) {
          throw e;
        }
        log.warn("volume {}: member engine {} did not answer ({}); {} is not granted "
            + "there", v.id(), member.name(), e.getStatus().getCode(), node);
      }
    }
  }

  /**
   * An external volume (a static PV on an array this driver does not manage): its attributes are
   * validated and passed on; the array's own access lists decide who may log in.
   */
  private static Csi.ControllerPublishVolumeResponse publishExternal(
      Csi.ControllerPublishVolumeRequest req) {
    String node = req.getNodeId();
    if (!IscsiNames.valid(node)) {
      throw CsiErrors.notFound("node " + node + " does not exist: node ids are iSCSI "
          + "initiator names (iqn., eui. or naa.)");
    }
    ExternalVolume ext = ExternalVolume.parse(req.getVolumeId(), req.getVolumeContextMap());
    Optional<String> why =
        AccessRules.unsupported(req.getVolumeCapability(), ext.accessParameters());
    if (why.isPresent()) {
      throw CsiErrors.invalid("volume capability not supported: " + why.get());
    }
    boolean readOnly = req.getReadonly()
        || AccessRules.readOnly(req.getVolumeCapability().getAccessMode().getMode());
    log.info("published external volume {} ({} LUN {}) to {}", ext.id(), ext.targetIqn(),
        ext.lun(), node);
    return Csi.ControllerPublishVolumeResponse.newBuilder()
        .putAllPublishContext(ext.publishContext(readOnly)).build();
  }

  /**
   * Checks that a CHAP volume's target requires CHAP, setting the publish secrets' credentials
   * when there are any; {@code labels} get the new credential source.
   */
  private void requireChap(Located l, Map<String, String> secrets, Map<String, String> labels) {
    VolumeRecord v = l.volume();
    if (!ChapCredentials.present(secrets)) {
      if (GeneratedChap.of(v)) {
        chap.apply(l);
      } else if (v.target().getChap().getUser().isEmpty()) {
        throw CsiErrors.invalid("CHAP is required: the secrets need username and password");
      }
      return;
    }
    l.engine().client().setChap(ChapCredentials.fromSecrets(secrets).toRequest(l.iqn()));
    if (GeneratedChap.of(v)) {
      labels.put(VolumeLabels.CHAP_CREDENTIALS, VolumeLabels.CHAP_FROM_SECRETS);
      chap.store().remove(v.name(), v.id());
      log.info("volume {}: the publish secrets' CHAP credentials replace the generated ones",
          v.id());
    }
  }

  private Csi.ControllerPublishVolumeResponse response(Located l, boolean readOnly,
      VolumeParameters params) {
    boolean replicated = ReplicaMembers.replicated(l.volume());
    List<String> portals = replicated ? memberPortals(l)
        : params.portals().isEmpty() ? l.engine().advertisedPortals() : params.portals();
    if (portals.isEmpty()) {
      throw CsiErrors.failedPrecondition("engine " + l.engine().name()
          + " advertises no portal; set --advertise or the portals parameter");
    }
    Lun lun = l.volume().lun().orElseThrow();
    Csi.ControllerPublishVolumeResponse.Builder b = Csi.ControllerPublishVolumeResponse
        .newBuilder();
    if (replicated) {
      b.putPublishContext(PublishContext.MULTIPATH, "true")
          .putPublishContext(PublishContext.WWID,
              "3" + lun.getNaa().toLowerCase(java.util.Locale.ROOT));
    }
    return b
        .putPublishContext(PublishContext.TARGET_IQN, l.iqn())
        .putPublishContext(PublishContext.SERIAL, lun.getSerial())
        .putPublishContext(PublishContext.NAA, lun.getNaa())
        .putPublishContext(PublishContext.PORTALS, String.join(",", portals))
        .putPublishContext(PublishContext.LUN, "0")
        .putPublishContext(PublishContext.CHAP, Boolean.toString(params.chap()))
        .putPublishContext(PublishContext.READ_ONLY, Boolean.toString(readOnly))
        .putPublishContext(PublishContext.FS_TYPE, params.fsType())
        .build();
  }

  /**
   * Every member's advertised portals in slot order (the primary's first); a member whose
   * engine is not in the pool is left out (the node's multipath takes the paths it can reach).
   */
  private List<String> memberPortals(Located l) {
    List<String> out = new java.util.ArrayList<>();
    for (ReplicaMembers.Member m : ReplicaMembers.of(l.volume())) {
      Optional<Engine> e = m.engine().equals(l.engine().name()) ? Optional.of(l.engine())
          : engines.byName(m.engine());
      if (e.isEmpty()) {
        log.warn("volume {}: member engine {} is not in the pool; its portal is left out",
            l.volume().id(), m.engine());
        continue;
      }
      out.addAll(e.get().portals().isEmpty() && !e.get().state().reachable()
          ? List.of() : e.get().advertisedPortals());
    }
    return out;
  }

  void unpublish(Csi.ControllerUnpublishVolumeRequest req) {
    String volumeId = req.getVolumeId();
    if (volumeId.isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (ExternalVolume.isExternal(volumeId)) {
      // Nothing was granted at publish: the node's logout is the whole detach.
      log.info("unpublished external volume {} from {}", volumeId, req.getNodeId());
      return;
    }
    if (VolumeId.parse(volumeId).isEmpty()) {
      return;
    }
    try (OperationLocks.Held held = locks.acquire(volumeId, "ControllerUnpublishVolume")) {
      Optional<Located> found = finder.find(volumeId);
      if (found.isEmpty()) {
        return;
      }
      Located l = found.get();
      for (InitiatorGrant g : l.volume().grants()) {
        if (req.getNodeId().isEmpty() || g.getInitiator().equals(req.getNodeId())) {
          finder.updated(l.engine(), l.volume().id(),
              l.engine().client().revoke(l.iqn(), g.getInitiator()));
          log.info("unpublished volume {} from {}", volumeId, g.getInitiator());
        }
      }
      if (ReplicaMembers.replicated(l.volume())) {
        for (Engine member : ReplicaMembers.others(l.volume(), l.engine(), engines, true)) {
          try {
            member.client().findTarget(l.iqn()).ifPresent(t -> t.getGrantsList().stream()
                .filter(g -> req.getNodeId().isEmpty()
                    || g.getInitiator().equals(req.getNodeId()))
                .forEach(g -> member.client().revoke(l.iqn(), g.getInitiator())));
          } catch (io.grpc.StatusRuntimeException e) {
            if (!VolumeFinder.unanswered(e)) {
              throw e;
            }
            log.warn("volume {}: member engine {} did not answer ({}); its grants stay until "
                + "they are made equal to the volume's", l.volume().id(),
                member.name(), e.getStatus().getCode());
          }
        }
      }
    }
  }
}
