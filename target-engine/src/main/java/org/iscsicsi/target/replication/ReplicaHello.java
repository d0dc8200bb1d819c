package org.iscsicsi.target.replication;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * HELLO's payload on a replica stream: the volume, the primary engine that dials, and the
 * membership generation it acts on. Layout: u16 length + UTF-8 volume, u16 length + UTF-8
 * primary, u64 generation. (The LU state of a HELLO comes with reservations across failover.)
 */
public record ReplicaHello(String volume, String primary, long generation) {

  private static final int MAX_TEXT = 253;

  public byte[] encode() {
    byte[] v = volume.getBytes(StandardCharsets.UTF_8);
    byte[] p = primary.getBytes(StandardCharsets.UTF_8);
    if (v.length > MAX_TEXT || p.length > MAX_TEXT) {
      throw new IllegalArgumentException("volume or engine name too long");
    }
    return ByteBuffer.allocate(2 + v.length + 2 + p.length + 8).putShort((short) v.length).put(v)
        .putShort((short) p.length).put(p).putLong(generation).array();
  }

  /** Decodes a payload; malformed ones throw {@link IllegalArgumentException}. */
  public static ReplicaHello decode(byte[] payload) {
    try {
      ByteBuffer b = ByteBuffer.wrap(payload);
      String v = text(b);
      String p = text(b);
      long g = b.getLong();
      if (b.hasRemaining() || v.isEmpty() || p.isEmpty()) {
        throw new IllegalArgumentException("trailing bytes or empty names");
      }
      return new ReplicaHello(v, p, g);
    } catch (java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException("HELLO payload too short", e);
    }
  }

  private static String text(ByteBuffer b) {
    int n = b.getShort() & 0xffff;
    if (n > MAX_TEXT) {
      throw new IllegalArgumentException("name of " + n + " bytes");
    }
    byte[] s = new byte[n];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }
}
