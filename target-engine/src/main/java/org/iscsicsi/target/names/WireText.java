package org.iscsicsi.target.names;

/**
 * Makes text that came from the network safe to log: control characters (newlines included),
 * line and paragraph separators and backslashes are written as escapes, so a hostile initiator
 * cannot forge log lines, and overlong text is cut.
 */
public final class WireText {

  /** Longest part of a wire value a log line shows. */
  public static final int MAX_LOGGED_CHARS = 300;

  private WireText() {
  }

  /** {@code text} with every unsafe character escaped (a newline as backslash-n, ESC as x1b). */
  public static String escape(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(Math.min(text.length(), MAX_LOGGED_CHARS) + 8);
    for (int i = 0; i < text.length(); i++) {
      if (sb.length() >= MAX_LOGGED_CHARS) {
        return sb.append("...(").append(text.length()).append(" chars)").toString();
      }
      char c = text.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (Character.isISOControl(c)) {
            sb.append(String.format("\\x%02x", (int) c));
          } else if (c == '\u2028' || c == '\u2029') {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.toString();
  }
}
