package org.iscsicsi.target.state;

import com.fasterxml.jackson.core.JsonProcessingException;
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
import java.util.stream.Collectors;

/**
 * The engine's state directory: one JSON document ({@code state.json}) with a format version,
 * replaced atomically on every change (write a temporary file, fsync it, rename it over the old
 * one, fsync the directory), so a crash at any moment leaves either the old or the new document.
 *
 * <p>The document holds CHAP secrets: the directory is created 0700 and the file 0600. Error
 * messages name the file and the position or field of a problem, never a value from it.
 *
 * <p>A lock file ({@code lock}, an fcntl lock) keeps a second engine off the same directory; the
 * kernel drops the lock when the holding process dies, even by SIGKILL.
 */
public final class StateStore implements AutoCloseable {

  public static final String STATE_FILE = "state.json";
  private static final String LOCK_FILE = "lock";

  private final Path dir;
  private final ObjectMapper mapper;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private StateStore(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.mapper = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
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

  public Path dir() {
    return dir;
  }

  public Path stateFile() {
    return dir.resolve(STATE_FILE);
  }

  /** Reads the state document; an empty state when there is none yet. */
  public EngineState load() throws IOException {
    Path file = stateFile();
    if (!Files.exists(file)) {
      return EngineState.empty();
    }
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
    if (version.intValue() != EngineState.FORMAT_VERSION) {
      throw new IOException("state file " + file + " has format version " + version.intValue()
          + ", this engine reads version " + EngineState.FORMAT_VERSION);
    }
    try {
      return mapper.treeToValue(tree, EngineState.class);
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

  /** Replaces the state document atomically and durably. */
  public synchronized void save(EngineState state) throws IOException {
    AtomicFiles.replace(stateFile(), mapper.writeValueAsBytes(state));
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      lockChannel.close();
    }
  }

  private static String where(JsonProcessingException e) {
    var loc = e.getLocation();
    return loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
  }
}
