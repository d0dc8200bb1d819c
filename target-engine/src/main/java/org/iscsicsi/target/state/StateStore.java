package org.iscsicsi.target.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's state directory: a snapshot document ({@code state.json}, JSON with a format
 * version) and a journal of the changes made since it was written ({@code journal}, see
 * {@link Journal}). A change costs one appended, checksummed, fdatasync'ed record whatever the
 * number of volumes; it is acknowledged only once that record is on disk. When the journal
 * outgrows the snapshot (and at least {@link #MIN_COMPACT_BYTES}), the state is compacted: a new
 * snapshot with the next generation number replaces the old one atomically (temporary file,
 * fsync, rename, directory fsync), then the journal starts over under that generation. Loading
 * replays the journal onto the snapshot when their generations match; a journal of an older
 * generation is already contained in the snapshot (the engine died between the two steps of a
 * compaction) and is ignored.
 *
 * <p>A state file of format 1 (the whole state rewritten on every change, no journal) is read and
 * converted on load.
 *
 * <p>Both files hold CHAP secrets: the directory is created 0700 and the files 0600. Error
 * messages name the file and the position or field of a problem, never a value from it.
 *
 * <p>A lock file ({@code lock}, an fcntl lock) keeps a second engine off the same directory; the
 * kernel drops the lock when the holding process dies, even by SIGKILL.
 */
public final class StateStore implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StateStore.class);
  private static final TypeReference<List<StateChange>> CHANGES = new TypeReference<>() {};

  public static final String STATE_FILE = "state.json";
  public static final String JOURNAL_FILE = "journal";
  private static final String LOCK_FILE = "lock";
  /** Formats {@link #load} reads: 1 converts to the current one. */
  private static final int FORMAT_WHOLE_FILE = 1;
  /** A journal smaller than this is never compacted: replaying it costs little at start. */
  static final long MIN_COMPACT_BYTES = 1 << 20;

  private final Path dir;
  private final ObjectMapper mapper;
  private final FileChannel lockChannel;
  private final FileLock lock;
  // The state as saved, mirrored so that a compaction can write it without asking the registry.
  private final TreeMap<String, TargetRecord> targets = new TreeMap<>();
  private final TreeMap<String, SnapshotRecord> snapshots = new TreeMap<>();
  private Journal journal;
  private long snapshotBytes;
  private IOException broken;
  private boolean closed;

  /** The snapshot document: the state and the generation of the journal that follows it. */
  private record Snapshot(int formatVersion, Long journalGeneration, List<TargetRecord> targets,
      List<SnapshotRecord> snapshots) {}

  private StateStore(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.mapper = mapper();
  }

  private static ObjectMapper mapper() {
    return new ObjectMapper()
        .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
  }

  /**
   * Opens (creating if needed) a state directory and locks it for this process.
   *
   * @throws IOException when the directory cannot be created or another engine holds it
   */
  public static StateStore open(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      Files.createDirectories(abs,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    FileChannel ch = FileChannel.open(abs.resolve(LOCK_FILE), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      lock = null; // held by this very JVM
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      ch.close();
      throw new IOException("state directory " + abs + " is in use by another target engine");
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n")
        .getBytes(StandardCharsets.US_ASCII)));
    return new StateStore(abs, ch, lock);
  }

  /**
   * Reads the state of a directory that an engine may be using, without locking or changing
   * anything (for tools and tests that look at an engine from outside). A record being appended
   * at that moment is not seen.
   */
  public static EngineState peek(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath().normalize();
    Path file = abs.resolve(STATE_FILE);
    if (!Files.exists(file)) {
      return EngineState.empty();
    }
    ObjectMapper mapper = mapper();
    Snapshot snap = readSnapshot(mapper, file);
    TreeMap<String, TargetRecord> ts = new TreeMap<>();
    TreeMap<String, SnapshotRecord> ss = new TreeMap<>();
    snap.targets().forEach(t -> ts.put(t.name(), t));
    snap.snapshots().forEach(s -> ss.put(s.id(), s));
    if (snap.formatVersion() == EngineState.FORMAT_VERSION) {
      Path jf = abs.resolve(JOURNAL_FILE);
      replay(mapper, jf, Journal.read(jf), snap.journalGeneration(), ts, ss);
    }
    return new EngineState(EngineState.FORMAT_VERSION, List.copyOf(ts.values()),
        List.copyOf(ss.values()));
  }

  public Path dir() {
    return dir;
  }

  public Path stateFile() {
    return dir.resolve(STATE_FILE);
  }

  public Path journalFile() {
    return dir.resolve(JOURNAL_FILE);
  }

  /**
   * Reads the state (snapshot plus journal) and readies the journal for changes; an empty state
   * when there is none yet. A torn record at the journal's end is cut off; a format-1 state file
   * is converted.
   */
  public synchronized EngineState load() throws IOException {
    requireOpen();
    closeJournal();
    targets.clear();
    snapshots.clear();
    Path file = stateFile();
    Path jf = journalFile();
    if (!Files.exists(file)) {
      if (Files.exists(jf) && Files.size(jf) > 0) {
        throw new IOException("journal " + jf + " exists without its state file " + file
            + "; refusing to start from an incomplete state");
      }
      writeSnapshotAndJournal(1);
      return current();
    }
    Snapshot snap = readSnapshot(mapper, file);
    snapshotBytes = Files.size(file);
    snap.targets().forEach(t -> targets.put(t.name(), t));
    snap.snapshots().forEach(s -> snapshots.put(s.id(), s));
    if (snap.formatVersion() == FORMAT_WHOLE_FILE) {
      writeSnapshotAndJournal(1);
      log.info("converted state file {} from format {} to {} (snapshot and journal)", file,
          FORMAT_WHOLE_FILE, EngineState.FORMAT_VERSION);
      return current();
    }
    Journal.Contents contents = Journal.read(jf);
    int replayed = replay(mapper, jf, contents, snap.journalGeneration(), targets, snapshots);
    if (replayed < 0) {
      // No journal of this snapshot's generation (none yet, a torn header, or an older one
      // already contained in the snapshot): start this generation's journal.
      journal = Journal.create(jf, snap.journalGeneration());
    } else {
      if (contents.tornBytes() > 0) {
        log.warn("journal {}: dropped a torn record of {} byte(s) at offset {} (never "
            + "acknowledged)", jf, contents.tornBytes(), contents.validEnd());
      }
      journal = Journal.openForAppend(jf, contents);
    }
    return current();
  }

  /**
   * Records {@code changes} as one journal record (all or none of them survive a crash) and
   * returns once it is durable. Compacts afterwards when the journal has grown large.
   */
  public synchronized void apply(List<StateChange> changes) throws IOException {
    if (changes.isEmpty()) {
      return;
    }
    requireUsable();
    if (journal == null) {
      load();
    }
    journal.append(mapper.writerFor(CHANGES).writeValueAsBytes(changes));
    changes.forEach(c -> c.applyTo(targets, snapshots));
    if (journal.size() > Math.max(MIN_COMPACT_BYTES, snapshotBytes)) {
      try {
        compact();
      } catch (IOException e) {
        // The change itself is durable in the journal; compaction is retried next time.
        log.warn("cannot compact the state into {}: {}", stateFile(), e.getMessage());
      }
    }
  }

  /** Replaces the whole state atomically and durably (a new snapshot and an empty journal). */
  public synchronized void save(EngineState state) throws IOException {
    requireUsable();
    targets.clear();
    snapshots.clear();
    state.targets().forEach(t -> targets.put(t.name(), t));
    state.snapshots().forEach(s -> snapshots.put(s.id(), s));
    long next = journal != null ? journal.generation() + 1
        : Math.max(nextGeneration(), Journal.read(journalFile()).generation() + 1);
    closeJournal();
    writeSnapshotAndJournal(next);
  }

  /** Writes the current state as a new snapshot and starts its journal. */
  synchronized void compact() throws IOException {
    requireUsable();
    long next = journal.generation() + 1;
    writeSnapshot(next);
    closeJournal();
    try {
      journal = Journal.create(journalFile(), next);
    } catch (IOException e) {
      // The snapshot of generation `next` is in place; appending to the old journal now would
      // write changes that the next load ignores. Refuse every later change instead.
      broken = e;
      throw e;
    }
  }

  /** Bytes in the journal now (header included); 0 before {@link #load}. */
  public synchronized long journalBytes() {
    return journal == null ? 0 : journal.size();
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      closeJournal();
    } finally {
      try {
        lock.release();
      } finally {
        lockChannel.close();
      }
    }
  }

  private EngineState current() {
    return new EngineState(EngineState.FORMAT_VERSION, List.copyOf(targets.values()),
        List.copyOf(snapshots.values()));
  }

  private long nextGeneration() throws IOException {
    Path file = stateFile();
    if (!Files.exists(file)) {
      return 1;
    }
    try {
      Long g = readSnapshot(mapper, file).journalGeneration();
      return g == null ? 1 : g + 1;
    } catch (IOException e) {
      return 1; // an unreadable document is being replaced as a whole
    }
  }

  private void writeSnapshotAndJournal(long generation) throws IOException {
    writeSnapshot(generation);
    try {
      journal = Journal.create(journalFile(), generation);
    } catch (IOException e) {
      broken = e;
      throw e;
    }
  }

  private void writeSnapshot(long generation) throws IOException {
    byte[] bytes = mapper.writeValueAsBytes(new Snapshot(EngineState.FORMAT_VERSION, generation,
        List.copyOf(targets.values()), List.copyOf(snapshots.values())));
    AtomicFiles.replace(stateFile(), bytes);
    snapshotBytes = bytes.length;
  }

  private void closeJournal() throws IOException {
    if (journal != null) {
      Journal j = journal;
      journal = null;
      j.close();
    }
  }

  private void requireOpen() throws IOException {
    if (closed) {
      throw new IOException("state directory " + dir + " is closed");
    }
  }

  private void requireUsable() throws IOException {
    requireOpen();
    if (broken != null) {
      throw new IOException("state directory " + dir + " is unusable after an earlier failure: "
          + broken.getMessage(), broken);
    }
  }

  /**
   * Applies the journal's records onto the maps when its generation is the snapshot's; returns
   * how many it applied, or -1 when the journal belongs to no generation or an older one.
   */
  private static int replay(ObjectMapper mapper, Path jf, Journal.Contents contents,
      Long generation, TreeMap<String, TargetRecord> ts, TreeMap<String, SnapshotRecord> ss)
      throws IOException {
    long g = generation == null ? 0 : generation;
    if (contents.generation() < 0 || contents.generation() < g) {
      return -1;
    }
    if (contents.generation() > g) {
      throw new IOException("journal " + jf + " has generation " + contents.generation()
          + ", newer than its state file's " + g + "; the state file is not the one it follows");
    }
    int n = 0;
    for (byte[] record : contents.records()) {
      List<StateChange> changes;
      try {
        changes = mapper.readValue(record, CHANGES);
      } catch (JsonProcessingException e) {
        throw new IOException("journal " + jf + " record " + n + " cannot be read" + where(e),
            null);
      }
      changes.forEach(c -> c.applyTo(ts, ss));
      n++;
    }
    return n;
  }

  private static Snapshot readSnapshot(ObjectMapper mapper, Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    JsonNode tree;
    try {
      tree = mapper.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IOException("state file " + file + " is not valid JSON" + where(e), e.getCause());
    }
    if (tree == null || !tree.isObject()) {
      throw new IOException("state file " + file + " is not a JSON object");
    }
    JsonNode version = tree.get("formatVersion");
    if (version == null || !version.isInt()) {
      throw new IOException("state file " + file + " has no integer formatVersion");
    }
    int v = version.intValue();
    if (v != EngineState.FORMAT_VERSION && v != FORMAT_WHOLE_FILE) {
      throw new IOException("state file " + file + " has format version " + v
          + ", this engine reads versions " + FORMAT_WHOLE_FILE + " and "
          + EngineState.FORMAT_VERSION);
    }
    if (v == EngineState.FORMAT_VERSION && !(tree.get("journalGeneration") instanceof JsonNode g
        && g.canConvertToLong() && g.isIntegralNumber())) {
      throw new IOException("state file " + file + " has no integer journalGeneration");
    }
    try {
      return mapper.treeToValue(tree, Snapshot.class);
    } catch (JsonMappingException e) {
      String path = e.getPath().stream()
          .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
          .collect(Collectors.joining("."));
      throw new IOException("state file " + file + " has an invalid or missing field at '"
          + path + "'", null);
    } catch (JsonProcessingException e) {
      throw new IOException("state file " + file + " cannot be read" + where(e), null);
    }
  }

  private static String where(JsonProcessingException e) {
    var loc = e.getLocation();
    return loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
  }
}
