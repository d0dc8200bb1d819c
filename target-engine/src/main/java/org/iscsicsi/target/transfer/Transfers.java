package org.iscsicsi.target.transfer;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineIdentity;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.iscsicsi.target.v1.LunIdentity;
import org.iscsicsi.target.v1.MovedTarget;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.Transfer;
import org.iscsicsi.target.v1.TransferChap;
import org.iscsicsi.target.v1.TransferHello;
import org.iscsicsi.target.v1.TransferImage;
import org.iscsicsi.target.v1.TransferInto;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transfers this engine sends, by id: started once per id (a repeat with the same request
 * returns the transfer as it stands; one that FAILED or was CANCELLED starts again), each on its
 * own virtual thread, waiting PENDING for one of the engine's transfer slots. Nothing is kept
 * across a restart: the caller starts a failed or forgotten transfer again.
 */
final class Transfers {

  private static final Logger log = LoggerFactory.getLogger(Transfers.class);
  /** Finished transfers remembered for GetTransfer; older ones are forgotten first. */
  static final int REMEMBERED = 256;
  private static final java.time.Duration DIAL_TIMEOUT = java.time.Duration.ofSeconds(10);

  private final TargetRegistry registry;
  private final EngineIdentity engine;
  private final ReplicationNetwork network;
  private final Bandwidth bandwidth;
  private final Semaphore slots;
  private final Map<String, TransferJob> jobs = new LinkedHashMap<>();

  Transfers(TargetRegistry registry, EngineIdentity engine, ReplicationNetwork network,
      Bandwidth bandwidth, Semaphore slots) {
    this.registry = registry;
    this.engine = engine;
    this.network = network;
    this.bandwidth = bandwidth;
    this.slots = slots;
  }

  /** See StartTransfer; throws IllegalArgumentException or RegistryException for bad requests. */
  Transfer start(StartTransferRequest req) {
    TransferId.check(req.getId());
    if (req.getContentCase() == StartTransferRequest.ContentCase.CONTENT_NOT_SET) {
      throw new IllegalArgumentException("source (a move) or source_snapshot_id (a fill) is "
          + "required");
    }
    if (req.hasSourceSnapshotId() && !req.hasInto()) {
      throw new IllegalArgumentException("a fill from a snapshot needs into (the destination "
          + "target and LUN)");
    }
    if (req.hasSource() && req.hasInto()) {
      throw new IllegalArgumentException("into applies to a fill from a snapshot, not a move");
    }
    if (!req.getDestinationBackend().isEmpty()
        && !req.getDestinationBackend().equals("fileio")) {
      throw new IllegalArgumentException("destination backend " + req.getDestinationBackend()
          + " is not offered (fileio only)");
    }
    HostPort destination = HostPort.parse(req.getDestinationAddress(), ReplicationSettings.PORT);
    synchronized (jobs) {
      TransferJob existing = jobs.get(req.getId());
      if (existing != null) {
        if (!existing.request.equals(req)) {
          throw new RegistryException(RegistryException.Reason.ALREADY_EXISTS, "transfer "
              + req.getId() + " exists with another request");
        }
        if (existing.state != TransferJob.State.FAILED
            && existing.state != TransferJob.State.CANCELLED) {
          return existing.toProto();
        }
      }
      Prepared p = prepare(req);
      TransferJob job = new TransferJob(req);
      job.totalBytes = p.images().stream().mapToLong(i -> i.regions().dataBytes()).sum();
      jobs.remove(req.getId());
      jobs.put(req.getId(), job);
      forgetOld();
      job.thread = Thread.ofVirtual().name("transfer-" + req.getId())
          .start(() -> run(job, p, destination));
      return job.toProto();
    }
  }

  Optional<Transfer> get(String id) {
    synchronized (jobs) {
      return Optional.ofNullable(jobs.get(id)).map(TransferJob::toProto);
    }
  }

  /** Stops the transfer; the destination deletes its copy when the connection drops. */
  Optional<Transfer> cancel(String id) {
    TransferJob job;
    synchronized (jobs) {
      job = jobs.get(id);
    }
    if (job == null) {
      return Optional.empty();
    }
    if (!job.state.finished()) {
      job.cancelRequested = true;
      FrameChannel ch = job.channel;
      if (ch != null) {
        ch.close();
      }
      Thread t = job.thread;
      if (t != null) {
        t.interrupt();
        try {
          t.join(java.time.Duration.ofSeconds(10));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    return Optional.of(job.toProto());
  }

  /** Stops every running transfer (engine shutdown). */
  void cancelAll() {
    List<String> ids;
    synchronized (jobs) {
      ids = new ArrayList<>(jobs.keySet());
    }
    ids.forEach(this::cancel);
  }

  /** What one transfer sends: the HELLO and the images behind it. */
  private record Prepared(TransferHello hello, List<TransferSource.Image> images) {
  }

  private Prepared prepare(StartTransferRequest req) {
    TransferHello.Builder hello = TransferHello.newBuilder().setTransferId(req.getId())
        .setDestinationEngine(req.getDestinationEngine()).setSourceEngine(engine.name())
        .setRegionBytes(Frame.REGION_BYTES);
    List<Path> files = new ArrayList<>();
    if (req.hasSource()) {
      TargetRecord t = registry.getTarget(req.getSource().getTarget());
      LunRecord lun = t.lun(req.getSource().getLun()).orElseThrow(() ->
          RegistryException.notFound("LUN " + req.getSource().getLun() + " of " + t.name()
              + " does not exist"));
      if (t.luns().size() != 1) {
        throw new RegistryException(RegistryException.Reason.FAILED_PRECONDITION, "target "
            + t.name() + " has " + t.luns().size() + " LUNs; a move carries a target with one");
      }
      int sessions = registry.sessionsOf(t.name(), null).size();
      if (sessions > 0) {
        throw new RegistryException(RegistryException.Reason.FAILED_PRECONDITION, "target "
            + t.name() + " has " + sessions + " session(s): only a detached LUN moves");
      }
      hello.setMove(moved(t, lun));
      hello.addImages(TransferImage.newBuilder().setSizeBytes(lun.sizeBytes())
          .setBlockSize(lun.blockSize()));
      files.add(Path.of(lun.file()));
      if (req.getIncludeSnapshots()) {
        for (SnapshotRecord s : registry.listSnapshots("", t.name(), lun.lun())) {
          hello.addImages(TransferImage.newBuilder().setSizeBytes(s.sizeBytes())
              .setBlockSize(s.blockSize()).setSnapshotId(s.id())
              .putAllSnapshotLabels(s.labels())
              .setSnapshotCreatedUnixNanos(s.createdUnixNanos()));
          files.add(Path.of(s.file()));
        }
      }
    } else {
      SnapshotRecord s = registry.listSnapshots(req.getSourceSnapshotId(), "", 0).stream()
          .findFirst().orElseThrow(() -> RegistryException.notFound("snapshot "
              + req.getSourceSnapshotId() + " does not exist"));
      TransferInto into = req.getInto();
      hello.setFill(into);
      hello.addImages(TransferImage.newBuilder().setSizeBytes(s.sizeBytes())
          .setBlockSize(s.blockSize()));
      files.add(Path.of(s.file()));
    }
    List<TransferSource.Image> images = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      long size = hello.getImages(i).getSizeBytes();
      try (ImageFile f = ImageFile.open(files.get(i))) {
        images.add(new TransferSource.Image(files.get(i), RegionMap.of(f, size)));
      } catch (IOException e) {
        throw new RegistryException(RegistryException.Reason.INTERNAL, "reading "
            + files.get(i) + " failed: " + e.getMessage(), e);
      }
    }
    hello.setAllocatedBytes(images.stream().mapToLong(i -> i.regions().dataBytes()).sum());
    return new Prepared(hello.build(), images);
  }

  private static MovedTarget moved(TargetRecord t, LunRecord lun) {
    TransferChap.Builder chap = TransferChap.newBuilder();
    if (t.incomingChap() != null) {
      chap.setUser(t.incomingChap().user())
          .setSecret(ByteString.copyFrom(t.incomingChap().secret()));
    }
    if (t.outgoingChap() != null) {
      chap.setMutualUser(t.outgoingChap().user())
          .setMutualSecret(ByteString.copyFrom(t.outgoingChap().secret()));
    }
    return MovedTarget.newBuilder().setName(t.name()).setAlias(t.alias())
        .putAllLabels(t.labels()).putAllParameters(t.parameters()).setChap(chap)
        .setLun(lun.lun()).setIdentity(LunIdentity.newBuilder().setNaa(lun.naa())
            .setSerial(lun.serial()))
        .setThin(lun.thin()).setReadOnly(lun.readOnly()).build();
  }

  private void run(TransferJob job, Prepared p, HostPort destination) {
    String id = job.request.getId();
    boolean slot = false;
    try {
      slots.acquire();
      slot = true;
      if (job.cancelRequested) {
        throw new InterruptedException();
      }
      job.state = TransferJob.State.RUNNING;
      log.info("transfer {} to {} at {} started: {} bytes in {} image(s)", id,
          job.request.getDestinationEngine(), destination, job.totalBytes, p.images().size());
      FrameChannel channel = network.dial(destination, DIAL_TIMEOUT);
      job.channel = channel;
      try (channel) {
        byte[] hash = new TransferSource(channel, bandwidth, job.doneBytes::addAndGet)
            .run(p.hello(), p.images(), job.request.getDestinationEngine());
        job.contentHash = hash;
        job.state = TransferJob.State.DONE;
        log.info("transfer {} done: {} bytes sent, content hash {}", id, job.doneBytes.get(),
            TransferSource.hex(hash));
      }
    } catch (InterruptedException e) {
      finish(job, TransferJob.State.CANCELLED, "cancelled");
    } catch (TransferException | IOException | RuntimeException e) {
      finish(job, job.cancelRequested ? TransferJob.State.CANCELLED : TransferJob.State.FAILED,
          e.getMessage());
    } finally {
      if (slot) {
        slots.release();
      }
    }
  }

  private static void finish(TransferJob job, TransferJob.State state, String why) {
    job.error = why == null ? "" : why;
    job.state = state;
    log.warn("transfer {} {}: {}", job.request.getId(), state.name().toLowerCase(), why);
  }

  private void forgetOld() {
    var it = jobs.values().iterator();
    while (jobs.size() > REMEMBERED && it.hasNext()) {
      if (it.next().state.finished()) {
        it.remove();
      }
    }
  }
}
