package org.iscsicsi.target.transfer;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SHA-256 of regions, and the content hash of an image: SHA-256 over every listed region's
 * number (u32, big-endian) and hash, in region order. Regions that are holes on the source are
 * not listed, on either side.
 */
public final class RegionHashes {

  private static final Map<Integer, byte[]> ZEROS = new ConcurrentHashMap<>();

  private RegionHashes() {
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }

  /** SHA-256 of the buffer's remaining bytes (its position is left unchanged). */
  public static byte[] of(ByteBuffer data) {
    MessageDigest d = sha256();
    d.update(data.duplicate());
    return d.digest();
  }

  public static byte[] of(byte[] data) {
    return sha256().digest(data);
  }

  /** SHA-256 of {@code length} zero bytes: what a region of a new, empty image holds. */
  public static byte[] zeros(int length) {
    return ZEROS.computeIfAbsent(length, n -> sha256().digest(new byte[n])).clone();
  }

  /** The content hash of an image from its region hashes. */
  public static byte[] content(SortedMap<Integer, byte[]> regions) {
    MessageDigest d = sha256();
    ByteBuffer number = ByteBuffer.allocate(Integer.BYTES);
    for (var e : regions.entrySet()) {
      number.clear();
      number.putInt(e.getKey()).flip();
      d.update(number);
      d.update(e.getValue());
    }
    return d.digest();
  }
}
