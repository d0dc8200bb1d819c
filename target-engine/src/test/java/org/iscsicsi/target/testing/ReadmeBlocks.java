package org.iscsicsi.target.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Shell blocks of a README as a test runs them: the fenced block whose info string is
 * {@code sh TAG} (e.g. {@code ```sh quickstart}), byte for byte. Tests that run README's commands
 * take them from here, so what README says is what runs.
 */
public final class ReadmeBlocks {

  private static final Pattern FENCE = Pattern.compile("^```(\\S*)\\s*(\\S*)\\s*$");

  private ReadmeBlocks() {
  }

  /**
   * The body of the one block of {@code readme} marked {@code ```sh TAG}.
   *
   * @throws IllegalStateException when there is none, or more than one
   */
  public static String block(Path readme, String tag) throws IOException {
    List<String> found = new ArrayList<>();
    StringBuilder body = null;
    for (String line : Files.readAllLines(readme)) {
      Matcher m = FENCE.matcher(line);
      if (body == null && m.matches() && m.group(1).equals("sh") && m.group(2).equals(tag)) {
        body = new StringBuilder();
      } else if (body != null && line.equals("```")) {
        found.add(body.toString());
        body = null;
      } else if (body != null) {
        body.append(line).append('\n');
      }
    }
    if (found.size() != 1) {
      throw new IllegalStateException(readme + " has " + found.size() + " blocks marked ```sh "
          + tag + ", expected one");
    }
    return found.getFirst();
  }
}
