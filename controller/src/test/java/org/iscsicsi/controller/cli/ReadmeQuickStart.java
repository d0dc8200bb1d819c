package org.iscsicsi.controller.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.ReadmeBlocks;

/**
 * The quick start's shell blocks as README.md has them: fenced blocks whose info string is
 * {@code sh quickstart...}, and the one substitution a test may make, the values of the
 * {@code STATE=} and {@code PORTAL=} assignments on a block's first line.
 */
final class ReadmeQuickStart {

  /** The project's README, from the module directory (failsafe's working directory). */
  static final Path README = Path.of("..", "README.md").toAbsolutePath().normalize();

  private static final Pattern STATE = Pattern.compile("^STATE=(\\S+)");
  private static final Pattern PORTAL = Pattern.compile("\\bPORTAL=(\\S+)");

  private ReadmeQuickStart() {
  }

  /** The body of the block marked {@code ```sh TAG} ({@link ReadmeBlocks#block}). */
  static String block(String tag) throws IOException {
    return ReadmeBlocks.block(README, tag);
  }

  /**
   * {@code block} with the first line's {@code STATE=} (which it must start with) and, when
   * present, {@code PORTAL=} given other values; every other byte as README has it.
   */
  static String substitute(String block, Path state, String portal) {
    int eol = block.indexOf('\n');
    String first = block.substring(0, eol);
    Matcher s = STATE.matcher(first);
    if (!s.find()) {
      throw new IllegalStateException("a quick-start block must begin with STATE=...: " + first);
    }
    String line = first.substring(0, s.start(1)) + state + first.substring(s.end(1));
    Matcher p = PORTAL.matcher(line);
    if (p.find()) {
      line = line.substring(0, p.start(1)) + portal + line.substring(p.end(1));
    }
    return line + block.substring(eol);
  }
}
