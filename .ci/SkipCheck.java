import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Reads every Surefire and Failsafe report under a source tree and fails when a test was skipped
 * without being on the allow-list, or when no test ran at all: a skip in CI is a hole unless
 * someone wrote down why it is acceptable. Run as {@code java .ci/SkipCheck.java ROOT ALLOWLIST}.
 *
 * <p>Allow-list lines: {@code <class>#<method-or-*> <reason>}; {@code #} at the start of a line
 * is a comment. An entry that matched nothing is reported (it may be stale) but does not fail.
 */
public final class SkipCheck {

  private static final Pattern REPORT = Pattern.compile("TEST-.*\\.xml");

  private record Skip(String testClass, String method, String message) {
    String id() {
      return testClass + "#" + method;
    }
  }

  private record Allowed(String testClass, String method, String reason) {
    boolean matches(Skip s) {
      return testClass.equals(s.testClass()) && (method.equals("*") || method.equals(s.method()));
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: java SkipCheck.java ROOT ALLOWLIST");
      System.exit(2);
    }
    List<Allowed> allowed = allowList(Path.of(args[1]));
    int tests = 0;
    int failures = 0;
    List<Skip> skips = new ArrayList<>();
    List<Path> reports;
    try (Stream<Path> s = Files.walk(Path.of(args[0]))) {
      reports = s.filter(p -> REPORT.matcher(p.getFileName().toString()).matches())
          .filter(p -> p.getParent().getFileName().toString().matches("(surefire|failsafe)-reports"))
          .sorted().toList();
    }
    var factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    for (Path report : reports) {
      NodeList cases = factory.newDocumentBuilder().parse(report.toFile())
          .getElementsByTagName("testcase");
      for (int i = 0; i < cases.getLength(); i++) {
        Element c = (Element) cases.item(i);
        tests++;
        if (c.getElementsByTagName("failure").getLength() > 0
            || c.getElementsByTagName("error").getLength() > 0) {
          failures++;
        }
        NodeList skipped = c.getElementsByTagName("skipped");
        if (skipped.getLength() > 0) {
          skips.add(new Skip(c.getAttribute("classname"), c.getAttribute("name"),
              ((Element) skipped.item(0)).getAttribute("message")));
        }
      }
    }
    Map<Allowed, Integer> used = new LinkedHashMap<>();
    allowed.forEach(a -> used.put(a, 0));
    List<Skip> unlisted = new ArrayList<>();
    for (Skip s : skips) {
      Allowed a = allowed.stream().filter(x -> x.matches(s)).findFirst().orElse(null);
      if (a == null) {
        unlisted.add(s);
      } else {
        used.merge(a, 1, Integer::sum);
        System.out.println("ci: allowed skip " + s.id() + " (" + a.reason() + ")");
      }
    }
    used.forEach((a, n) -> {
      if (n == 0) {
        System.out.println("ci: allow-list entry matched no skip (stale?): "
            + a.testClass() + "#" + a.method());
      }
    });
    System.out.printf("ci: %d reports, %d tests, %d failed, %d skipped (%d allowed)%n",
        reports.size(), tests, failures, skips.size(), skips.size() - unlisted.size());
    if (tests == 0) {
      System.err.println("ci: no test ran");
      System.exit(1);
    }
    if (!unlisted.isEmpty()) {
      for (Skip s : unlisted) {
        System.err.println("ci: skipped, not on .ci/allowed-skips: " + s.id() + ": " + s.message());
      }
      System.exit(1);
    }
  }

  private static List<Allowed> allowList(Path file) throws IOException {
    List<Allowed> out = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] parts = l.split("\\s+", 2);
      int hash = parts[0].indexOf('#');
      if (hash < 1 || parts.length < 2) {
        throw new IllegalArgumentException(file + ": want '<class>#<method> <reason>': " + line);
      }
      out.add(new Allowed(parts[0].substring(0, hash), parts[0].substring(hash + 1), parts[1]));
    }
    return out;
  }
}
