package org.iscsicsi.target.engine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import org.iscsicsi.target.state.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who a running engine is: its name, fixed for its state directory and recorded there in
 * {@value #FILE}, and its incarnation, a random 128-bit id (32 hex digits) drawn at every start,
 * so that the controller tells a restarted engine from one that kept running.
 *
 * @param name the engine's name ({@link EngineName})
 * @param incarnation this start's id
 * @param node the Kubernetes node, or "" outside Kubernetes
 */
public record EngineIdentity(String name, String incarnation, String node) {

  /** The identity file in the state directory (mode 0600, replaced atomically). */
  public static final String FILE = "engine.json";

  static final int FORMAT_VERSION = 1;
  private static final int INCARNATION_BYTES = 16;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);
  private static final Logger log = LoggerFactory.getLogger(EngineIdentity.class);

  /** What {@value #FILE} holds. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Recorded(int formatVersion, String name, String node, String incarnation,
      String createdAt, String startedAt) {
  }

  /**
   * The identity of an engine starting on {@code stateDir} (which the caller has locked): the
   * name asked for, or the recorded one when none was asked for; a new incarnation, recorded.
   *
   * @throws IOException when the directory records another name and {@code naming} does not allow
   *     a rename, or {@value #FILE} cannot be read or written
   */
  public static EngineIdentity establish(Path stateDir, EngineNaming naming) throws IOException {
    Path file = stateDir.resolve(FILE);
    Recorded before = Files.exists(file) ? read(file) : null;
    String asked = naming.requested();
    String name;
    if (before == null) {
      name = asked == null ? EngineName.LOCAL : asked;
    } else if (asked == null || asked.equals(before.name())) {
      name = before.name();
    } else if (naming.rename()) {
      log.warn("state directory {} was engine '{}'; renamed to '{}' (--rename)", stateDir,
          before.name(), asked);
      name = asked;
    } else {
      throw new IOException("state directory " + stateDir + " belongs to engine '"
          + before.name() + "' (" + FILE + "), not '" + asked + "': start it as '"
          + before.name() + "' (--name), or give --rename to rename it");
    }
    String node = naming.node() == null ? "" : naming.node();
    String incarnation = newIncarnation();
    String now = Instant.now().toString();
    Recorded after = new Recorded(FORMAT_VERSION, name, node, incarnation,
        before == null || before.createdAt() == null ? now : before.createdAt(), now);
    AtomicFiles.replace(file, JSON.writeValueAsBytes(after));
    return new EngineIdentity(name, incarnation, node);
  }

  /** A random 128-bit id, 32 lowercase hex digits. */
  static String newIncarnation() {
    byte[] b = new byte[INCARNATION_BYTES];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static Recorded read(Path file) throws IOException {
    Recorded r;
    try {
      r = JSON.readValue(Files.readAllBytes(file), Recorded.class);
    } catch (JacksonException e) {
      throw new IOException("engine identity file " + file + " is damaged: "
          + e.getOriginalMessage(), null);
    }
    if (r == null || r.formatVersion() != FORMAT_VERSION) {
      throw new IOException("engine identity file " + file + " has format version "
          + (r == null ? "none" : r.formatVersion()) + ", this engine reads version "
          + FORMAT_VERSION);
    }
    if (!EngineName.isValid(r.name())) {
      throw new IOException("engine identity file " + file + " records an invalid engine name");
    }
    return r;
  }
}
