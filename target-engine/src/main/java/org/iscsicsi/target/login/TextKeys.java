package org.iscsicsi.target.login;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The text format of login and text PDUs (RFC 7143 section 6.1): {@code key=value} pairs, each
 * ended by a NUL byte, UTF-8. Keys are case sensitive; a key appears at most once per exchange.
 */
public final class TextKeys {

  /** Longest key name (section 6.1). */
  static final int MAX_KEY_LENGTH = 63;

  private TextKeys() {
  }

  /**
   * Parses the bytes of one or more data segments. A trailing pair without its NUL is accepted
   * (some initiators omit the last one).
   *
   * @throws LoginException INITIATOR_ERROR for a pair without '=', an empty or too long key, or a
   *     key sent twice
   */
  public static SequencedMap<String, String> parse(byte[] bytes) throws LoginException {
    SequencedMap<String, String> keys = new LinkedHashMap<>();
    int start = 0;
    while (start < bytes.length) {
      int end = start;
      while (end < bytes.length && bytes[end] != 0) {
        end++;
      }
      if (end > start) {
        String pair = new String(bytes, start, end - start, StandardCharsets.UTF_8);
        int eq = pair.indexOf('=');
        if (eq <= 0 || eq > MAX_KEY_LENGTH) {
          throw new LoginException(LoginStatus.INITIATOR_ERROR, "malformed key=value pair");
        }
        String key = pair.substring(0, eq);
        if (keys.putIfAbsent(key, pair.substring(eq + 1)) != null) {
          throw new LoginException(LoginStatus.INITIATOR_ERROR, "key sent twice: " + key);
        }
      }
      start = end + 1;
    }
    return keys;
  }

  /** Encodes pairs in order, each NUL-terminated. */
  public static ByteBuf encode(Map<String, String> keys) {
    StringBuilder sb = new StringBuilder();
    keys.forEach((k, v) -> sb.append(k).append('=').append(v).append('\0'));
    return Unpooled.wrappedBuffer(sb.toString().getBytes(StandardCharsets.UTF_8));
  }
}
