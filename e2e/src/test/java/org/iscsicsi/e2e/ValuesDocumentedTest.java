package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every value of the chart is documented: each key of values.yaml that holds a value has a
 * comment right above it or above one of its enclosing sections (a documented object such as
 * {@code resources}), and every top-level key appears in docs/install.md.
 */
class ValuesDocumentedTest {
  private static final Pattern KEY = Pattern.compile("^(\\s*)([A-Za-z][A-Za-z0-9]*):(.*)$");

  @Test
  void everyValueHasAComment() throws Exception {
    List<String> lines = Files.readAllLines(Repo.chart().resolve("values.yaml"));
    List<String> undocumented = new ArrayList<>();
    List<String> path = new ArrayList<>();
    List<Boolean> commented = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = KEY.matcher(lines.get(i));
      if (!m.matches() || lines.get(i).trim().startsWith("-")) {
        continue;
      }
      int depth = m.group(1).length() / 2;
      while (path.size() > depth) {
        path.removeLast();
        commented.removeLast();
      }
      path.add(m.group(2));
      commented.add(lines.get(i - 1).trim().startsWith("#"));
      boolean section = m.group(3).isBlank();
      // storageClasses entries are documented together above the list.
      if (section || path.getFirst().equals("storageClasses")) {
        continue;
      }
      if (!commented.contains(true)) {
        undocumented.add(String.join(".", path));
      }
    }
    assertThat(undocumented).as("values without a comment above them").isEmpty();
  }

  @Test
  void everyTopLevelValueIsInTheInstallGuide() throws Exception {
    String guide = Files.readString(Repo.root().resolve("docs/install.md"));
    List<String> missing = new ArrayList<>();
    for (String line : Files.readAllLines(Repo.chart().resolve("values.yaml"))) {
      Matcher m = KEY.matcher(line);
      if (m.matches() && m.group(1).isEmpty() && !guide.contains("`" + m.group(2))) {
        missing.add(m.group(2));
      }
    }
    assertThat(missing).as("top-level values missing from docs/install.md").isEmpty();
  }
}
