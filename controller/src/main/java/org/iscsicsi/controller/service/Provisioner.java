package org.iscsicsi.controller.service;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.AccessRules;
import org.iscsicsi.controller.volume.Capacity;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.ExternalVolume;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.controller.volume.QosParameters;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.PoolCapacity;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Volume life cycle on the engines (CSI spec, CreateVolume, DeleteVolume, ControllerExpandVolume,
 * ValidateVolumeCapabilities, ListVolumes, ControllerGetVolume, GetCapacity). Each volume is one
 * target named after its id, holding LUN 0 and no grant; the CSI metadata sits in the target's
 * labels. A CreateVolume that fails midway deletes the target it made (and with it the LUN
 * file), so nothing half-made stays behind; a target left without LUN 0 by a crash is finished
 * over by the next CreateVolume with that name, or removed by DeleteVolume.
 *
 * <p>CHAP is on unless the parameters turn it off: the credentials are those of the call's
 * secrets when they carry any, else generated here per volume (SecureRandom), kept through the
 * {@link ChapSecretStore} and set on the target before LUN 0 exists, so a complete volume is
 * always protected. A volume without CHAP gets a Warning on its PVC. New volumes must fit the
 * {@link PoolLimits}: OUT_OF_RANGE above the largest volume, RESOURCE_EXHAUSTED when the pool's
 * promised bytes would pass the overcommit ratio (checked and made under one lock per engine, so
 * two concurrent calls cannot both take the last room).
 *
 * <p>In a pool ({@link Engines#pooled()}) ids are {@code pool.<local>}, {@link Placement#order}
 * picks the engines a new volume may go to, best first, and each is tried in turn with its room
 * checked again under its lock; volumes on an unreachable engine are answered from the
 * {@link VolumeIndex} by the queries and are UNAVAILABLE to every change. A clone or restore
 * goes to the source's engine when placement allows it, else to the next engine placement
 * orders, filled there by a {@link CloneTransfer} before CreateVolume returns.
 */
final class Provisioner {

  private static final Logger log = LoggerFactory.getLogger(Provisioner.class);
  /** The longest CreateVolume waits for a clone's or restore's copy from another engine. */
  static final java.time.Duration CLONE_TRANSFER_TIMEOUT = java.time.Duration.ofHours(1);

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final OperationLocks locks;
  private final ClusterObjects cluster;
  private final GeneratedChap chap;
  private final ReplicaProvisioner replicas;
  private final CloneTransfer transfers = new CloneTransfer(CLONE_TRANSFER_TIMEOUT);
  /** One lock per engine: a pool check and the LUN it admits are one step. */
  private final ConcurrentMap<String, Object> poolLocks = new ConcurrentHashMap<>();

  Provisioner(Engines engines, ControllerConfig config, VolumeFinder finder,
      OperationLocks locks, ClusterObjects cluster) {
    this.engines = engines;
    this.config = config;
    this.finder = finder;
    this.locks = locks;
    this.cluster = cluster;
    this.chap = new GeneratedChap(cluster.chapSecrets());
    this.replicas = new ReplicaProvisioner(engines, config, finder, chap, cluster.memberships(),
        engine -> poolLocks.computeIfAbsent(engine, k -> new Object()));
  }

  ReplicaProvisioner replicas() {
    return replicas;
  }

  /** What a new volume's data comes from. */
  private record Source(String label, Engine engine, long minimumBytes, int blockSize,
      CreateLunRequest.Builder lunSource) {}

  Csi.Volume create(Csi.CreateVolumeRequest req) {
    String name = req.getName();
    if (name.isEmpty()) {
      throw CsiErrors.invalid("name is required");
    }
    if (req.getVolumeCapabilitiesCount() == 0) {
      throw CsiErrors.invalid("volume_capabilities are required");
    }
    QosParameters qos = QosParameters.parse(req.getMutableParamsMap());
    VolumeParameters params = VolumeParameters.parse(req.getParametersMap());
    params.pool().requireSupported(engines.pooled());
    PoolLimits limits = config.limits().narrowedBy(params.limits());
    req.getVolumeCapabilitiesList().forEach(AccessRules::requireWellFormed);
    params = params.withFsType(AccessRules.fsType(req.getVolumeCapabilitiesList(), params));
    for (VolumeCapability cap : req.getVolumeCapabilitiesList()) {
      Optional<String> why = AccessRules.unsupported(cap, params);
      if (why.isPresent()) {
        throw CsiErrors.invalid("volume capability not supported: " + why.get());
      }
    }
    String accessTypes = accessTypes(req.getVolumeCapabilitiesList());
    Source source = source(req);
    if (source != null && params.pool().replicated()) {
      throw CsiErrors.failedPrecondition("volume \"" + name + "\": a replicated volume "
          + "(replicas " + params.pool().replicas() + ") cannot be made from a snapshot or "
          + "volume yet; clones and restores are not supported on replicated volumes");
    }
    if (source != null && source.blockSize() != params.blockSize()) {
      throw CsiErrors.invalid("the source has " + source.blockSize() + "-byte blocks, the "
          + "parameters ask for " + params.blockSize());
    }
    long size = Capacity.size(req.getCapacityRange(), params.blockSize(),
        source == null ? 0 : source.minimumBytes());

    Optional<Located> existing = finder.byName(name);
    if (existing.isPresent() && existing.get().volume().complete()
        && ReplicaMembers.finished(existing.get().volume())) {
      return compatible(existing.get(), req, params, source);
    }
    if (size > limits.largestVolume()) {
      throw CsiErrors.outOfRange("volume \"" + name + "\": " + size + " bytes is above the "
          + "largest volume allowed, " + limits.maxVolumeBytes() + " bytes (controller flag "
          + "--max-volume-size or StorageClass parameter " + VolumeParameters.MAX_VOLUME_SIZE
          + ")");
    }
    Placement.Demand demand = new Placement.Demand(name, size, params.thick(), limits,
        req.getAccessibilityRequirements(), params.pool().policy(),
        params.pool().backend().orElse(""));
    List<Engine> candidates;
    if (source != null && engines.pooled()) {
      candidates = sourceFirst(source.engine(), Placement.order(engines.all(), demand,
          survey(params)));
    } else if (source != null) {
      Engine engine = source.engine();
      if (!Placement.satisfies(engine, req.getAccessibilityRequirements())) {
        throw CsiErrors.exhausted("the content source lives on engine " + engine.name()
            + ", which the requisite topology does not reach");
      }
      Placement.unschedulable(engine).ifPresent(why -> {
        throw CsiErrors.exhausted("the content source lives on engine " + engine.name()
            + ", which takes no new volumes: " + why + "; clones and restores are made on "
            + "the source's engine");
      });
      candidates = List.of(engine);
    } else if (params.pool().replicated()) {
      candidates = Placement.members(Placement.rank(engines.all(), demand, survey(params)),
          demand, params.pool().replicas(), replicas::replicationUnavailable);
    } else if (existing.isPresent()) {
      candidates = List.of(existing.get().engine());
    } else if (engines.pooled()) {
      candidates = Placement.order(engines.all(), demand, survey(params));
    } else {
      candidates = List.of(Placement.choose(engines.all(), req.getAccessibilityRequirements()));
    }
    VolumeId id = finder.idFor(candidates.getFirst(), name);
    try (OperationLocks.Held held = locks.acquire(id.toString(), "CreateVolume")) {
      Optional<Located> again = finder.find(id.toString());
      if (again.isPresent()) {
        if (!again.get().volume().name().equals(name)) {
          throw CsiErrors.alreadyExists("volume id " + id + " belongs to another name");
        }
        if (again.get().volume().complete() && ReplicaMembers.finished(again.get().volume())) {
          return compatible(again.get(), req, params, source);
        }
        log.info("removing the unfinished volume {} left by an earlier CreateVolume", id);
        if (ReplicaMembers.replicated(again.get().volume())) {
          replicas.discard(id);
        } else {
          again.get().engine().client().deleteTarget(again.get().iqn(), true);
          finder.removed(again.get().engine(), id);
        }
      }
      if (params.pool().replicated()) {
        return replicas.create(new ReplicaProvisioner.Request(id, name,
            alias(params.kubernetes().getOrDefault("pvc/name", name)), size, params,
            accessTypes, req.getSecretsMap(), qos, demand), candidates,
            engine -> admitInPool(engine, demand));
      }
      if (!engines.pooled()) {
        Engine engine = candidates.getFirst();
        return make(engine, id, name, size, params, source, accessTypes, req.getSecretsMap(),
            qos, () -> admit(engine, "volume \"" + name + "\"", size, limits));
      }
      Map<String, String> refused = new LinkedHashMap<>();
      for (Engine engine : candidates) {
        try {
          return make(engine, id, name, size, params, source, accessTypes,
              req.getSecretsMap(), qos, () -> admitInPool(engine, demand));
        } catch (StatusRuntimeException e) {
          if (!CsiErrors.is(e, Status.Code.RESOURCE_EXHAUSTED)) {
            throw e;
          }
          refused.put(engine.name(), e.getStatus().getDescription());
        }
      }
      throw Placement.refusal(demand, refused);
    }
  }

  /**
   * The source's engine first when placement allows it (a local copy), then the others, which
   * get the content by a transfer.
   */
  private static List<Engine> sourceFirst(Engine source, List<Engine> ordered) {
    List<Engine> out = new ArrayList<>();
    ordered.stream().filter(e -> e.name().equals(source.name())).forEach(out::add);
    ordered.stream().filter(e -> !e.name().equals(source.name())).forEach(out::add);
    return out;
  }

  /** What placement knows of the pool for a volume with these parameters. */
  private Placement.Survey survey(VolumeParameters params) {
    return survey(finder.index(), params);
  }

  /** What placement knows of the pool, from the index, for a volume with these parameters. */
  static Placement.Survey survey(VolumeIndex index, VolumeParameters params) {
    index.refresh();
    Map<String, String> volumeClass = params.canonical();
    return new Placement.Survey(e -> e.client().capacity(), index.counts(v -> true),
        index.counts(v -> v.parameters().canonical().equals(volumeClass)));
  }

  /**
   * Makes the volume on {@code engine}: the target, CHAP, then LUN 0, after {@code admission}
   * (which throws when the volume may not go there) under the engine's pool lock.
   */
  private Csi.Volume make(Engine engine, VolumeId id, String name, long size,
      VolumeParameters params, Source source, String accessTypes, Map<String, String> secrets,
      QosParameters qos, Runnable admission) {
    String iqn = id.iqn(config.iqnPrefix());
    Map<String, String> labels = new TreeMap<>(VolumeLabels.forVolume(config.driverName(), name,
        params, source == null ? "" : source.label(), accessTypes));
    boolean generated = params.chap() && !ChapCredentials.present(secrets);
    if (params.chap()) {
      labels.put(VolumeLabels.CHAP_CREDENTIALS,
          generated ? VolumeLabels.CHAP_GENERATED : VolumeLabels.CHAP_FROM_SECRETS);
    }
    synchronized (poolLocks.computeIfAbsent(engine.name(), k -> new Object())) {
      admission.run();
      engine.client().createTarget(iqn,
          alias(params.kubernetes().getOrDefault("pvc/name", name)), labels);
      boolean kept = false;
      try {
        if (params.chap()) {
          ChapCredentials credentials = generated
              ? chap.store().keep(name, id, chap.fresh(id, iqn, params.mutualChap()))
              : ChapCredentials.fromSecrets(secrets);
          kept = generated;
          engine.client().setChap(credentials.toRequest(iqn));
        }
        LunQos limits = qos.applyTo(LunQos.getDefaultInstance());
        if (source != null && !source.engine().name().equals(engine.name())) {
          CreateLunRequest from = source.lunSource().build();
          transfers.fill(source.engine(), from.hasCloneOf() ? null : from.getSnapshotId(),
              from.hasCloneOf() ? from.getCloneOf().getTarget() : null, engine, id, iqn, size,
              params.thick());
          if (!limits.equals(LunQos.getDefaultInstance())) {
            engine.client().setLunQos(iqn, 0, limits);
          }
        } else {
          CreateLunRequest.Builder lun = source == null
              ? CreateLunRequest.newBuilder() : source.lunSource().clone();
          lun.setTarget(iqn).setLun(0).setSizeBytes(size).setBlockSize(params.blockSize())
              .setThick(params.thick()).setQos(limits)
              .setBackend(params.pool().backend().orElse(""));
          engine.client().createLun(lun.build());
        }
      } catch (RuntimeException e) {
        try {
          engine.client().deleteTarget(iqn, true);
          if (kept) {
            chap.store().remove(name, id);
          }
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
          log.error("CreateVolume {} failed and its target could not be removed", id, cleanup);
        }
        throw e;
      }
    }
    Target t = engine.client().findTarget(iqn)
        .orElseThrow(() -> CsiErrors.aborted("target " + iqn + " vanished while created"));
    finder.updated(engine, id, t);
    log.info("created volume {} ({} bytes) for {}, CHAP {}", id, size, name,
        !params.chap() ? "off" : generated ? "with generated credentials"
            : "with the credentials of the request's secrets");
    if (!params.chap()) {
      warnUnprotected(id, name, params);
    }
    return new VolumeRecord(id, t).toCsi(engine.topology());
  }

  /**
   * RESOURCE_EXHAUSTED unless {@code size} more bytes fit the engine's overcommit ratio; the
   * message starts with {@code what} (the new volume, or a volume's growth).
   */
  static void admit(Engine engine, String what, long size, PoolLimits limits) {
    if (limits.overcommitRatio() == 0) {
      return;
    }
    PoolCapacity pool = engine.client().capacity();
    long headroom = limits.headroom(pool.getTotalBytes(), pool.getProvisionedBytes());
    if (size > headroom) {
      throw CsiErrors.exhausted(what + " (" + size + " bytes) does not fit "
          + "engine " + engine.name() + ": its volumes already promise "
          + pool.getProvisionedBytes() + " of the " + pool.getTotalBytes() + "-byte pool, "
          + headroom + " bytes are left under the overcommit ratio " + limits.overcommitRatio());
    }
  }

  /** RESOURCE_EXHAUSTED with the reason unless the volume fits the pool engine's room now. */
  private static void admitInPool(Engine engine, Placement.Demand demand) {
    PoolCapacity reported = engine.client().capacity();
    PoolCapacity pool = BackendShare.of(reported, demand.backend()).orElseThrow(() ->
        CsiErrors.exhausted("engine " + engine.name() + " "
            + BackendShare.missing(reported, demand.backend())));
    Placement.shortfall(pool, demand.sizeBytes(), demand.limits(), demand.thick())
        .ifPresent(why -> {
          throw CsiErrors.exhausted(why);
        });
  }

  private void warnUnprotected(VolumeId id, String name, VolumeParameters params) {
    String message = "volume " + id + " has CHAP off (StorageClass parameter chap: \"false\"): "
        + "any initiator that presents the initiator name of a node it is published to can "
        + "log in and read and write it; node initiator names are listed in CSINode objects";
    log.warn("{} ({})", message, name);
    String pvc = params.kubernetes().get("pvc/name");
    String namespace = params.kubernetes().get("pvc/namespace");
    if (pvc != null && namespace != null) {
      cluster.events().warn(namespace, pvc, VolumeEvents.CHAP_DISABLED, message);
    }
  }

  /** The target alias: the PVC or CSI name, without control characters, at most 200 chars. */
  static String alias(String name) {
    String clean = name.codePoints().map(c -> Character.isISOControl(c) ? '_' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
        .toString();
    return clean.length() > 200 ? clean.substring(0, 200) : clean;
  }

  private Csi.Volume compatible(Located found, Csi.CreateVolumeRequest req,
      VolumeParameters params, Source source) {
    VolumeRecord v = found.volume();
    List<String> differences = new ArrayList<>();
    if (!Capacity.satisfies(req.getCapacityRange(), v.sizeBytes())) {
      differences.add("its size " + v.sizeBytes() + " is outside the requested range");
    }
    if (!v.parameters().canonical().equals(params.canonical())) {
      differences.add("its parameters " + v.parameters().canonical() + " differ from "
          + params.canonical());
    }
    String wantSource = source == null ? "" : source.label();
    if (!v.source().equals(wantSource)) {
      differences.add("its content source \"" + v.source() + "\" differs from \""
          + wantSource + "\"");
    }
    if (!Placement.satisfies(found.engine(), req.getAccessibilityRequirements())) {
      differences.add("its engine is outside the requisite topology");
    }
    if (!differences.isEmpty()) {
      throw CsiErrors.alreadyExists("volume \"" + req.getName() + "\" exists as "
          + v.id() + ", but " + String.join("; ", differences));
    }
    if (GeneratedChap.of(v)) {
      chap.apply(found); // a retry after the volume's Secret went gets it back
    }
    return v.toCsi(ReplicaMembers.topologies(found, engines));
  }

  private Source source(Csi.CreateVolumeRequest req) {
    if (!req.hasVolumeContentSource()) {
      return null;
    }
    Csi.VolumeContentSource src = req.getVolumeContentSource();
    switch (src.getTypeCase()) {
      case SNAPSHOT -> {
        String snapshotId = src.getSnapshot().getSnapshotId();
        if (snapshotId.isEmpty()) {
          throw CsiErrors.invalid("volume_content_source.snapshot.snapshot_id is required");
        }
        VolumeFinder.FoundSnapshot found = finder.findSnapshot(snapshotId).orElseThrow(
            () -> CsiErrors.notFound("snapshot " + snapshotId + " does not exist"));
        Engine engine = found.engine();
        Snapshot snap = found.snapshot();
        int blockSize = Integer.parseInt(
            snap.getLabelsOrDefault(VolumeLabels.BLOCK_SIZE, "512"));
        return new Source("snapshot:" + snapshotId, engine, snap.getSizeBytes(), blockSize,
            CreateLunRequest.newBuilder().setSnapshotId(snap.getId()));
      }
      case VOLUME -> {
        String volumeId = src.getVolume().getVolumeId();
        if (volumeId.isEmpty()) {
          throw CsiErrors.invalid("volume_content_source.volume.volume_id is required");
        }
        Located origin = finder.find(volumeId).filter(l -> l.volume().complete()).orElseThrow(
            () -> CsiErrors.notFound("source volume " + volumeId + " does not exist"));
        if (ReplicaMembers.replicated(origin.volume())) {
          throw CsiErrors.failedPrecondition("source volume " + volumeId + " is replicated: "
              + "clones are not supported on replicated volumes yet");
        }
        return new Source("volume:" + volumeId, origin.engine(), origin.volume().sizeBytes(),
            origin.volume().parameters().blockSize(),
            CreateLunRequest.newBuilder().setCloneOf(
                LunRef.newBuilder().setTarget(origin.iqn()).setLun(0)));
      }
      default -> throw CsiErrors.invalid("volume_content_source: snapshot or volume required");
    }
  }

  private static String accessTypes(List<VolumeCapability> caps) {
    TreeSet<String> types = new TreeSet<>();
    for (VolumeCapability cap : caps) {
      types.add(cap.hasBlock() ? "block" : "mount");
    }
    return String.join(",", types);
  }

  void delete(Csi.DeleteVolumeRequest req) {
    String volumeId = req.getVolumeId();
    if (volumeId.isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (ExternalVolume.isExternal(volumeId)) {
      log.warn("DeleteVolume {}: an external volume (static PV) is the array's; this driver never"
          + " deletes it (give such PVs persistentVolumeReclaimPolicy Retain)", volumeId);
      return;
    }
    Optional<VolumeId> id = VolumeId.parse(volumeId);
    if (id.isEmpty()) {
      return;
    }
    if (engines.pooled() && !id.get().pooled()) {
      log.warn("DeleteVolume {}: not a pool volume id; nothing to delete", volumeId);
      return;
    }
    if (!engines.pooled() && engines.byName(id.get().engine()).isEmpty()) {
      log.warn("DeleteVolume {}: no engine named {} is configured; nothing to delete", volumeId,
          id.get().engine());
      return;
    }
    try (OperationLocks.Held held = locks.acquire(volumeId, "DeleteVolume")) {
      Optional<Located> found = finder.find(volumeId);
      if (found.isEmpty()) {
        return;
      }
      Target t = found.get().volume().target();
      if (t.getSessionCount() > 0) {
        throw CsiErrors.failedPrecondition("volume " + volumeId + " is in use: "
            + t.getSessionCount() + " iSCSI session(s) logged in to " + t.getName());
      }
      if (ReplicaMembers.replicated(found.get().volume())) {
        replicas.delete(found.get());
        if (GeneratedChap.of(found.get().volume())) {
          chap.store().remove(found.get().volume().name(), id.get());
        }
        return;
      }
      if (GeneratedChap.of(found.get().volume())) {
        chap.store().remove(found.get().volume().name(), id.get());
      }
      found.get().engine().client().deleteTarget(t.getName(), false);
      finder.removed(found.get().engine(), id.get());
      log.info("deleted volume {}", volumeId);
    }
  }

  Csi.ControllerExpandVolumeResponse expand(Csi.ControllerExpandVolumeRequest req) {
    String volumeId = req.getVolumeId();
    if (volumeId.isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (!req.hasCapacityRange()) {
      throw CsiErrors.invalid("capacity_range is required");
    }
    Csi.CapacityRange range = req.getCapacityRange();
    if (range.getRequiredBytes() < 0 || range.getLimitBytes() < 0) {
      throw CsiErrors.invalid("capacity_range: negative byte counts");
    }
    if (range.getRequiredBytes() == 0 && range.getLimitBytes() == 0) {
      throw CsiErrors.invalid("capacity_range: required_bytes or limit_bytes is required");
    }
    if (ExternalVolume.isExternal(volumeId)) {
      // The array grows the LUN; the node rescans its session, waits for the size, grows the
      // filesystem, and fails (the resizer retries) while the LUN is still smaller.
      long want = range.getRequiredBytes() > 0 ? range.getRequiredBytes() : range.getLimitBytes();
      return Csi.ControllerExpandVolumeResponse.newBuilder().setCapacityBytes(want)
          .setNodeExpansionRequired(true).build();
    }
    try (OperationLocks.Held held = locks.acquire(volumeId, "ControllerExpandVolume")) {
      Located l = finder.require(volumeId);
      VolumeRecord v = l.volume();
      int blockSize = v.parameters().blockSize();
      long want = Capacity.roundUp(Math.max(range.getRequiredBytes(), 1), blockSize);
      if (range.getLimitBytes() > 0 && want > range.getLimitBytes()) {
        throw CsiErrors.outOfRange("no whole number of " + blockSize + "-byte blocks fits "
            + "between required_bytes and limit_bytes");
      }
      long size = v.sizeBytes();
      if (range.getLimitBytes() > 0 && size > range.getLimitBytes()) {
        throw CsiErrors.outOfRange("volume " + volumeId + " is already " + size
            + " bytes, more than limit_bytes; volumes do not shrink");
      }
      if (want > size) {
        // a replicated volume's members grow before its primary, so that no write past a
        // member's end is ever replicated; every member must answer (UNAVAILABLE otherwise)
        List<Engine> members = ReplicaMembers.replicated(v)
            ? ReplicaMembers.others(v, l.engine(), engines, false) : List.of();
        for (Engine member : members) {
          synchronized (poolLocks.computeIfAbsent(member.name(), k -> new Object())) {
            ExpansionLimits.require(member, volumeId, size, want, config.limits());
            member.client().resizeLun(l.iqn(), 0, want);
          }
        }
        synchronized (poolLocks.computeIfAbsent(l.engine().name(), k -> new Object())) {
          ExpansionLimits.require(l.engine(), volumeId, size, want, config.limits());
          size = l.engine().client().resizeLun(l.iqn(), 0, want).getSizeBytes();
        }
        l.engine().client().findTarget(l.iqn())
            .ifPresent(t -> finder.updated(l.engine(), v.id(), t));
        log.info("expanded volume {} to {} bytes", volumeId, size);
      }
      boolean filesystem = req.hasVolumeCapability()
          ? req.getVolumeCapability().hasMount()
          : v.accessTypes().contains("mount");
      return Csi.ControllerExpandVolumeResponse.newBuilder().setCapacityBytes(size)
          .setNodeExpansionRequired(filesystem).build();
    }
  }

  Csi.ValidateVolumeCapabilitiesResponse validate(Csi.ValidateVolumeCapabilitiesRequest req) {
    if (req.getVolumeId().isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (req.getVolumeCapabilitiesCount() == 0) {
      throw CsiErrors.invalid("volume_capabilities are required");
    }
    req.getVolumeCapabilitiesList().forEach(AccessRules::requireWellFormed);
    Located l = finder.requireView(req.getVolumeId());
    VolumeParameters params = l.volume().parameters();
    List<String> problems = new ArrayList<>();
    for (VolumeCapability cap : req.getVolumeCapabilitiesList()) {
      AccessRules.unsupported(cap, params).ifPresent(problems::add);
    }
    if (req.getParametersCount() > 0) {
      try {
        VolumeParameters asked = VolumeParameters.parse(req.getParametersMap());
        if (!asked.fsType().isEmpty() || !params.fsType().isEmpty()) {
          asked = asked.withFsType(asked.fsType().isEmpty() ? params.fsType() : asked.fsType());
        }
        if (!asked.canonical().equals(params.canonical())) {
          problems.add("parameters " + asked.canonical() + " differ from the volume's "
              + params.canonical());
        }
      } catch (StatusRuntimeException e) {
        problems.add(e.getStatus().getDescription());
      }
    }
    try {
      QosParameters.parse(req.getMutableParamsMap());
    } catch (StatusRuntimeException e) {
      problems.add(e.getStatus().getDescription());
    }
    if (!problems.isEmpty()) {
      return Csi.ValidateVolumeCapabilitiesResponse.newBuilder()
          .setMessage(String.join("; ", problems)).build();
    }
    return Csi.ValidateVolumeCapabilitiesResponse.newBuilder()
        .setConfirmed(Csi.ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder()
            .putAllVolumeContext(req.getVolumeContextMap())
            .addAllVolumeCapabilities(req.getVolumeCapabilitiesList())
            .putAllParameters(req.getParametersMap()))
        .build();
  }

  Csi.ListVolumesResponse list(Csi.ListVolumesRequest req) {
    Paging<Located> page = Paging.of(finder.all(), req.getMaxEntries(), req.getStartingToken());
    Csi.ListVolumesResponse.Builder b = Csi.ListVolumesResponse.newBuilder()
        .setNextToken(page.nextToken());
    for (Located l : page.page()) {
      b.addEntries(Csi.ListVolumesResponse.Entry.newBuilder()
          .setVolume(l.volume().toCsi(ReplicaMembers.topologies(l, engines)))
          .setStatus(Csi.ListVolumesResponse.VolumeStatus.newBuilder()
              .addAllPublishedNodeIds(l.volume().publishedNodes())
              .setVolumeCondition(replicas.condition(l))));
    }
    return b.build();
  }

  Csi.ControllerGetVolumeResponse get(Csi.ControllerGetVolumeRequest req) {
    if (req.getVolumeId().isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    if (ExternalVolume.isExternal(req.getVolumeId())) {
      throw CsiErrors.notFound("volume " + req.getVolumeId() + " is an external volume (a static"
          + " PV on another array): this controller does not track it");
    }
    Located l = finder.requireView(req.getVolumeId());
    return Csi.ControllerGetVolumeResponse.newBuilder()
        .setVolume(l.volume().toCsi(ReplicaMembers.topologies(l, engines)))
        .setStatus(Csi.ControllerGetVolumeResponse.VolumeStatus.newBuilder()
            .addAllPublishedNodeIds(l.volume().publishedNodes())
            .setVolumeCondition(replicas.condition(l)))
        .build();
  }

  /**
   * GetCapacity for one segment (docs/pools.md section 4): over the schedulable engines
   * reachable from {@code accessible_topology}, the sum of their rooms and the largest room (no
   * more than the largest volume allowed). Capabilities the parameters cannot serve get 0.
   */
  Csi.GetCapacityResponse capacity(Csi.GetCapacityRequest req) {
    VolumeParameters params = VolumeParameters.parse(req.getParametersMap());
    params.pool().requireSupported(engines.pooled());
    boolean supported = true;
    for (VolumeCapability cap : req.getVolumeCapabilitiesList()) {
      AccessRules.requireWellFormed(cap);
      supported &= AccessRules.unsupported(cap, params).isEmpty();
    }
    PoolLimits limits = config.limits().narrowedBy(params.limits());
    Function<Engine, PoolCapacity> reported =
        engines.pooled() ? Provisioner::capacityOrNone : e -> e.client().capacity();
    String backend = params.pool().backend().orElse("");
    SegmentCapacity segment = supported
        ? SegmentCapacity.of(engines.schedulable(), req.hasAccessibleTopology()
            ? Optional.of(req.getAccessibleTopology()) : Optional.empty(),
            // an engine without the backend has no room for such volumes
            e -> BackendShare.of(reported.apply(e), backend)
                .orElse(PoolCapacity.getDefaultInstance()),
            limits, params.thick(), params.pool().replicas())
        : SegmentCapacity.NONE;
    return Csi.GetCapacityResponse.newBuilder().setAvailableCapacity(segment.availableBytes())
        .setMaximumVolumeSize(com.google.protobuf.Int64Value.of(segment.maximumVolumeBytes()))
        .build();
  }

  /**
   * A pool engine's capacity; none (no room) when it does not answer, so that one engine
   * going away does not fail GetCapacity for the others.
   */
  private static PoolCapacity capacityOrNone(Engine engine) {
    try {
      return engine.client().capacity();
    } catch (StatusRuntimeException e) {
      log.warn("engine {} did not report its capacity ({}: {}); counted as full", engine.name(),
          e.getStatus().getCode(), e.getStatus().getDescription());
      return PoolCapacity.getDefaultInstance();
    }
  }
}
