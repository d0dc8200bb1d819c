package org.iscsicsi.node.iscsi;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the line formats open-iscsi's iscsiadm prints:
 * <pre>
 * -m session:    tcp: [3] 10.0.2.2:3260,1 iqn.2003-01.org.example:disk1 (non-flash)
 * -m node / -m discovery -t st:
 *                10.0.2.2:3260,1 iqn.2003-01.org.example:disk1
 *                [fd00::1]:3260,1 iqn.2003-01.org.example:disk1
 * </pre>
 * Lines that do not match (banners, warnings) are skipped rather than guessed at.
 */
public final class IscsiadmParser {

  private static final Pattern SESSION = Pattern.compile(
      "^(\\S+):\\s+\\[(\\d+)\\]\\s+(\\[[^\\]]+\\]|[^\\s,\\[]+?)(?::(\\d+))?(?:,(-?\\d+))?\\s+"
          + "(\\S+)(?:\\s+\\(.*\\))?\\s*$");
  private static final Pattern RECORD = Pattern.compile(
      "^(\\[[^\\]]+\\]|[^\\s,\\[]+?)(?::(\\d+))?(?:,(-?\\d+))?\\s+(\\S+)\\s*$");

  private IscsiadmParser() {}

  public static List<IscsiSession> sessions(String output) {
    List<IscsiSession> out = new ArrayList<>();
    for (String line : output.split("\n")) {
      Matcher m = SESSION.matcher(line.strip());
      if (m.matches()) {
        out.add(new IscsiSession(Integer.parseInt(m.group(2)), m.group(1),
            portal(m.group(3), m.group(4)), tpgt(m.group(5)), m.group(6)));
      }
    }
    return out;
  }

  public static List<NodeRecord> records(String output) {
    List<NodeRecord> out = new ArrayList<>();
    for (String line : output.split("\n")) {
      Matcher m = RECORD.matcher(line.strip());
      if (m.matches() && !line.startsWith("iscsiadm:")) {
        try {
          out.add(new NodeRecord(portal(m.group(1), m.group(2)), tpgt(m.group(3)), m.group(4)));
        } catch (IllegalArgumentException e) {
          // not a record line (e.g. a message); skip it
        }
      }
    }
    return out;
  }

  private static Portal portal(String host, String port) {
    return new Portal(host, port == null ? Portal.DEFAULT_PORT : Integer.parseInt(port));
  }

  private static int tpgt(String s) {
    return s == null ? -1 : Integer.parseInt(s);
  }
}
