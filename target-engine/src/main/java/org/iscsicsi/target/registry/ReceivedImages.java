package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adopts images another engine sent (a transfer): files written and synced aside, in a staging
 * directory on the same filesystem as the pool, become a LUN of an existing target, or a whole
 * target with its LUN and snapshots, in one state commit. Before the commit nothing of them is
 * visible; a crash leaves only staging files, which the transfer listener removes at start.
 */
final class ReceivedImages {

  private static final Logger log = LoggerFactory.getLogger(ReceivedImages.class);

  private final RegistryState state;
  private final LunFiles files;

  ReceivedImages(RegistryState state, LunFiles files) {
    this.state = state;
    this.files = files;
  }

  /** See {@link TargetRegistry#adoptTarget}. */
  TargetRecord adoptTarget(TargetRecord target, Path lunImage, List<ReceivedSnapshot> snaps) {
    Validation.targetName(target.name());
    Validation.alias(target.alias());
    Validation.labels(target.labels());
    LoginParameters.validate(target.parameters());
    if (target.luns().size() != 1) {
      throw RegistryException.invalid("a received target carries exactly one LUN");
    }
    LunRecord sent = target.luns().getFirst();
    synchronized (state.lock) {
      if (state.target(target.name()) != null) {
        throw new RegistryException(Reason.ALREADY_EXISTS, "target " + target.name()
            + " already exists on this engine");
      }
      LunIdentity.Identity id = LunIdentity.requireUnused(
          new LunIdentity.Identity(sent.serial(), sent.naa()), state.serials(), state.naas());
      for (ReceivedSnapshot s : snaps) {
        Validation.snapshotId(s.id());
        if (state.snapshot(s.id()) != null) {
          throw new RegistryException(Reason.ALREADY_EXISTS, "snapshot " + s.id()
              + " already exists on this engine");
        }
      }
      List<Path> placed = new ArrayList<>();
      try {
        Path lunFile = place(lunImage, files.lunFile(id.naa()), placed);
        LunRecord lun = new LunRecord(sent.lun(), lunFile.toString(), sent.sizeBytes(),
            sent.blockSize(), sent.thin(), sent.readOnly(), id.serial(), id.naa());
        TargetRecord t = new TargetRecord(target.name(), target.alias(),
            TargetRegistry.DEFAULT_PORTAL_GROUP_TAG, target.labels(), target.parameters(),
            List.of(),
            target.incomingChap(), target.outgoingChap(), List.of(lun));
        List<SnapshotRecord> records = new ArrayList<>();
        for (ReceivedSnapshot s : snaps) {
          Path f = place(s.image(), files.snapshotFile(s.id()), placed);
          records.add(new SnapshotRecord(s.id(), t.name(), lun.lun(), s.sizeBytes(),
              s.blockSize(), s.createdUnixNanos(), f.toString(), s.labels()));
        }
        state.commitReceived(t, records);
        state.units.addPort(t.name());
        state.units.open(t.name(), lun);
        state.publish();
        log.info("received target {} with its LUN {} and {} snapshot(s)", t.name(), lun.lun(),
            records.size());
        return t;
      } catch (IOException | RuntimeException e) {
        placed.forEach(LunFiles::delete);
        throw e instanceof RegistryException r ? r : new RegistryException(Reason.INTERNAL,
            "adopting the received target " + target.name() + " failed: " + e.getMessage(), e);
      }
    }
  }

  /** See {@link TargetRegistry#adoptLun}. */
  LunRecord adoptLun(String target, int lunNumber, Path image, long sizeBytes, int blockSize,
      boolean thin) {
    Validation.lun(lunNumber);
    Validation.size(sizeBytes, Validation.blockSize(blockSize));
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      if (t.lun(lunNumber).isPresent()) {
        throw new RegistryException(Reason.ALREADY_EXISTS, "LUN " + lunNumber + " of "
            + t.name() + " already exists");
      }
      state.copies.requireIdle(CopyTracker.lun(t.name(), lunNumber), "LUN " + lunNumber
          + " of " + t.name());
      LunIdentity.Identity id = LunIdentity.next(state.serials(), state.naas());
      List<Path> placed = new ArrayList<>();
      try {
        Path f = place(image, files.lunFile(id.naa()), placed);
        LunRecord lun = new LunRecord(lunNumber, f.toString(), sizeBytes, blockSize, thin, false,
            id.serial(), id.naa());
        state.commitTarget(t.withLun(lun));
        state.units.open(t.name(), lun);
        state.publish();
        log.info("received LUN {} of {}: {} bytes, serial {}", lunNumber, t.name(), sizeBytes,
            id.serial());
        return lun;
      } catch (IOException | RuntimeException e) {
        placed.forEach(LunFiles::delete);
        throw e instanceof RegistryException r ? r : new RegistryException(Reason.INTERNAL,
            "adopting the received LUN " + lunNumber + " of " + t.name() + " failed: "
                + e.getMessage(), e);
      }
    }
  }

  /** Moves a staged image to its final name (same filesystem: a rename), never over a file. */
  private static Path place(Path staged, Path destination, List<Path> placed) throws IOException {
    if (Files.exists(destination)) {
      throw new IOException(destination + " already exists");
    }
    Files.move(staged, destination, StandardCopyOption.ATOMIC_MOVE);
    placed.add(destination);
    return destination;
  }
}
