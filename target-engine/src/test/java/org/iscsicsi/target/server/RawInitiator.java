package org.iscsicsi.target.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.iscsicsi.target.pdu.IscsiDigest;

/**
 * A minimal hand-rolled initiator for tests that need to send exactly the bytes they want,
 * including malformed ones (no initiator library can). Builds BHS fields by RFC 7143 offsets.
 */
public final class RawInitiator implements AutoCloseable {

  /** A PDU as read: the 48-byte BHS and the data segment (without padding and digests). */
  public record Pdu(byte[] bhs, byte[] data) {
    public int opcode() {
      return bhs[0] & 0x3f;
    }

    public int intAt(int offset) {
      return Unpooled.wrappedBuffer(bhs).getInt(offset);
    }

    public int byteAt(int offset) {
      return bhs[offset] & 0xff;
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  boolean headerDigest;
  boolean dataDigest;
  int cmdSn = 1;
  int expStatSn;
  int itt = 1;

  /** The initiator port's ISID (RFC 7143 section 11.12.5); sessions are keyed by name and ISID. */
  public long isid = DEFAULT_ISID;

  /** The ISID every RawInitiator uses unless told otherwise. */
  public static final long DEFAULT_ISID = 0x23d000000001L;

  /** The Initiator Task Tag of login PDUs, apart from the tags of commands. */
  private static final int LOGIN_ITT = 0x10000;

  public RawInitiator(int port) throws IOException {
    this(null, port);
  }

  /**
   * Connects to 127.0.0.1:{@code port} from {@code sourceAddress} (any 127.x.y.z: Linux routes all
   * of 127/8 to lo, so each is a distinct source address to the target), or from 127.0.0.1 when
   * null.
   */
  public RawInitiator(String sourceAddress, int port) throws IOException {
    socket = new Socket();
    if (sourceAddress != null) {
      socket.bind(new java.net.InetSocketAddress(sourceAddress, 0));
    }
    socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(5000);
    socket.setTcpNoDelay(true);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  public void timeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  /** Logs in straight to the operational stage; returns the final Login Response. */
  public Pdu login(String initiator, String target, Map<String, String> extraKeys)
      throws IOException {
    return login(initiator, target, extraKeys, 0);
  }

  /** As {@link #login(String, String, Map)}, naming an existing session's TSIH. */
  public Pdu login(String initiator, String target, Map<String, String> extraKeys, int tsih)
      throws IOException {
    StringBuilder keys = new StringBuilder();
    keys.append("InitiatorName=").append(initiator).append('\0');
    if (target == null) {
      keys.append("SessionType=Discovery").append('\0');
    } else {
      keys.append("SessionType=Normal\0TargetName=").append(target).append('\0');
    }
    extraKeys.forEach((k, v) -> keys.append(k).append('=').append(v).append('\0'));
    Pdu response = loginPdu(OPERATIONAL, FULL_FEATURE, true, false, keys.toString(), tsih);
    itt++; // the tags of later commands start where they always did
    if (response.byteAt(36) == 0) {
      headerDigest = "CRC32C".equals(extraKeys.get("HeaderDigest"));
      dataDigest = "CRC32C".equals(extraKeys.get("DataDigest"));
    }
    return response;
  }

  /** Login stages (CSG/NSG, RFC 7143 section 11.12.3). */
  public static final int SECURITY = 0;
  public static final int OPERATIONAL = 1;
  public static final int FULL_FEATURE = 3;

  /**
   * Sends one Login Request carrying {@code keys} (NUL-separated key=value pairs) and returns the
   * Login Response. The ITT stays the same for the whole login, as section 11.12.4 asks.
   */
  public Pdu loginPdu(int csg, int nsg, boolean transit, boolean cont, String keys, int tsih)
      throws IOException {
    byte[] data = keys.getBytes(StandardCharsets.UTF_8);
    ByteBuf bhs = loginBhs(csg, nsg, transit, cont, data.length, tsih);
    send(bhs, data, false, false);
    Pdu response = read();
    expStatSn = response.intAt(24) + 1;
    return response;
  }

  /** The BHS of a Login Request (opcode 0x03, immediate). */
  public ByteBuf loginBhs(int csg, int nsg, boolean transit, boolean cont, int dataLength,
      int tsih) {
    int flags = (transit ? 0x80 : 0) | (cont ? 0x40 : 0) | csg << 2 | (transit ? nsg : 0);
    ByteBuf bhs = bhs(0x43, flags, dataLength);
    bhs.setLong(8, isid << 16 | tsih); // ISID, TSIH
    bhs.setInt(16, LOGIN_ITT);
    bhs.setInt(24, cmdSn);
    bhs.setInt(28, expStatSn);
    return bhs;
  }

  /**
   * A full CHAP login (RFC 7143 section 12.1.3): AuthMethod=CHAP, CHAP_A, then CHAP_N/CHAP_R from
   * {@code secret}, then the operational stage. Returns the first response with a non-zero status,
   * or the final one.
   *
   * @param chapA the algorithms offered, e.g. "7,5" (SHA-256, MD5) as open-iscsi sends, "5"
   */
  public Pdu chapLogin(String initiator, String target, String user, String secret, String chapA)
      throws IOException {
    String who = "InitiatorName=" + initiator + "\0" + (target == null
        ? "SessionType=Discovery\0" : "SessionType=Normal\0TargetName=" + target + "\0");
    Pdu r = loginPdu(SECURITY, OPERATIONAL, false, false, who + "AuthMethod=CHAP,None\0", 0);
    if (r.byteAt(36) != 0) {
      return r;
    }
    r = loginPdu(SECURITY, OPERATIONAL, false, false, "CHAP_A=" + chapA + "\0", 0);
    if (r.byteAt(36) != 0) {
      return r;
    }
    Map<String, String> challenge = keys(r);
    String algorithm = switch (challenge.getOrDefault("CHAP_A", "")) {
      case "5" -> "MD5";
      case "7" -> "SHA-256";
      default -> throw new IOException("target chose CHAP_A " + challenge.get("CHAP_A"));
    };
    int id = Integer.parseInt(challenge.get("CHAP_I"));
    String response = chapResponse(algorithm, id, secret, challenge.get("CHAP_C"));
    r = loginPdu(SECURITY, OPERATIONAL, true, false,
        "CHAP_N=" + user + "\0CHAP_R=" + response + "\0", 0);
    if (r.byteAt(36) != 0) {
      return r;
    }
    return loginPdu(OPERATIONAL, FULL_FEATURE, true, false, "", 0);
  }

  /** RFC 1994: H(identifier || secret || challenge), as 0x hex. */
  public static String chapResponse(String algorithm, int id, String secret, String challenge) {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance(algorithm);
      md.update((byte) id);
      md.update(secret.getBytes(StandardCharsets.UTF_8));
      md.update(java.util.HexFormat.of().parseHex(challenge.substring(2)));
      return "0x" + java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalArgumentException(algorithm, e);
    }
  }

  /** The text keys of a response's data segment. */
  public static Map<String, String> keys(Pdu pdu) {
    Map<String, String> keys = new java.util.LinkedHashMap<>();
    for (String pair : new String(pdu.data(), StandardCharsets.UTF_8).split("\0")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        keys.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
    }
    return keys;
  }

  /** Login status class and detail of a Login Response ({@code class << 8 | detail}). */
  public static int loginStatus(Pdu pdu) {
    return pdu.byteAt(36) << 8 | pdu.byteAt(37);
  }

  /** CHECK CONDITION: on a new I_T nexus the first command reports the power-on unit attention. */
  private static final int CHECK_CONDITION = 0x02;
  /** The data segment (sense) of the last SCSI Response {@link #writeBlock} read. */
  public byte[] lastSense = new byte[0];

  /**
   * WRITE(10) of one 512-byte block and its SCSI status (0 is GOOD); sent again (up to three
   * times in all) after a CHECK CONDITION, which on a fresh session is the unit attention every
   * new nexus gets first.
   */
  public int writeBlock(long lba, byte[] block) throws IOException {
    int status = CHECK_CONDITION;
    for (int attempt = 0; attempt < 3 && status == CHECK_CONDITION; attempt++) {
      write10(lba, block, cmdSn++);
      Pdu response = read();
      status = scsiStatus(response);
      lastSense = response.data();
    }
    return status;
  }

  /** READ(10) of {@code blocks} 512-byte blocks; the Data-In collected, or an IOException. */
  public byte[] readBlocks(long lba, int blocks) throws IOException {
    read10(lba, blocks);
    var data = new java.io.ByteArrayOutputStream();
    while (true) {
      Pdu pdu = read();
      if (pdu.opcode() == 0x25) { // Data-In
        data.writeBytes(pdu.data());
        if ((pdu.bhs()[1] & 0x01) == 0) {
          continue;
        }
        if (pdu.byteAt(3) != 0) {
          throw new IOException("READ status " + pdu.byteAt(3));
        }
        return data.toByteArray();
      }
      if (pdu.opcode() == 0x21) { // SCSI Response without phase-collapsed status
        if (scsiStatus(pdu) != 0) {
          throw new IOException("READ status " + scsiStatus(pdu));
        }
        return data.toByteArray();
      }
      throw new IOException("unexpected PDU opcode 0x" + Integer.toHexString(pdu.opcode()));
    }
  }

  private static int scsiStatus(Pdu pdu) throws IOException {
    if (pdu.opcode() != 0x21) {
      throw new IOException("expected a SCSI Response, got opcode 0x"
          + Integer.toHexString(pdu.opcode()));
    }
    return pdu.byteAt(2) << 8 | pdu.byteAt(3);
  }

  public static ByteBuf bhs(int opcodeByte, int flags, int dataLength) {
    ByteBuf b = Unpooled.buffer(48);
    b.writeByte(opcodeByte).writeByte(flags).writeShort(0).writeByte(0).writeMedium(dataLength)
        .writeZero(40);
    return b;
  }

  /** The 16-byte CDB field of a 10-byte block command (READ(10) 0x28, WRITE(10) 0x2a...). */
  public static byte[] rw10(int opcode, long lba, int blocks) {
    byte[] cdb = new byte[16];
    cdb[0] = (byte) opcode;
    cdb[2] = (byte) (lba >>> 24);
    cdb[3] = (byte) (lba >>> 16);
    cdb[4] = (byte) (lba >>> 8);
    cdb[5] = (byte) lba;
    cdb[7] = (byte) (blocks >>> 8);
    cdb[8] = (byte) blocks;
    return cdb;
  }

  /** NOP-Out ping (immediate); the caller reads the NOP-In. */
  public int ping() throws IOException {
    return ping(new byte[0]);
  }

  /** NOP-Out ping (immediate) carrying {@code data}, which the NOP-In echoes. */
  public int ping(byte[] data) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x40, 0x80, data.length);
    b.setInt(16, tag).setInt(20, -1).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, data);
    return tag;
  }

  /** WRITE(10) of one 512-byte block at {@code lba}, all of it immediate data. */
  public int write10(long lba, byte[] block, int commandSn) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, 0xa1, block.length);
    b.setInt(16, tag).setInt(20, block.length).setInt(24, commandSn).setInt(28, expStatSn);
    b.setByte(32, 0x2a).setInt(34, (int) lba).setShort(39, block.length / 512);
    send(b, block);
    return tag;
  }

  /** READ(10) of {@code blocks} 512-byte blocks. */
  public int read10(long lba, int blocks) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, 0xc1, 0);
    b.setInt(16, tag).setInt(20, blocks * 512).setInt(24, cmdSn++).setInt(28, expStatSn);
    b.setByte(32, 0x28).setInt(34, (int) lba).setShort(39, blocks);
    send(b, new byte[0]);
    return tag;
  }

  /** SCSI Command with any flags (F 0x80, R 0x40, W 0x20) and optional immediate data. */
  public int command(int flags, int edtl, byte[] cdb, byte[] immediate) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, flags | 0x01, immediate.length);
    b.setInt(16, tag).setInt(20, edtl).setInt(24, cmdSn++).setInt(28, expStatSn);
    b.setBytes(32, cdb);
    send(b, immediate);
    return tag;
  }

  /**
   * As {@link #command}, but immediate (the I bit): its CmdSN is the next one and does not
   * advance, and the target's command window does not hold it back (RFC 7143 section 3.2.2.1).
   */
  public int immediateCommand(int flags, int edtl, byte[] cdb, byte[] immediate)
      throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x41, flags | 0x01, immediate.length);
    b.setInt(16, tag).setInt(20, edtl).setInt(24, cmdSn).setInt(28, expStatSn);
    b.setBytes(32, cdb);
    send(b, immediate);
    return tag;
  }

  /** SCSI Data-Out. */
  public void dataOut(int tag, int ttt, int dataSn, int offset, byte[] data, boolean last)
      throws IOException {
    ByteBuf b = bhs(0x05, last ? 0x80 : 0, data.length);
    b.setInt(16, tag).setInt(20, ttt).setInt(28, expStatSn).setInt(36, dataSn)
        .setInt(40, offset);
    send(b, data);
  }

  /** Task Management Function Request (immediate). */
  public int taskManagement(int function, long lun, int referencedTag, int refCmdSn)
      throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x42, 0x80 | function, 0);
    b.setLong(8, lun).setInt(16, tag).setInt(20, referencedTag).setInt(24, cmdSn)
        .setInt(28, expStatSn).setInt(32, refCmdSn);
    send(b, new byte[0]);
    return tag;
  }

  /** Logout Request (immediate). */
  public int logout(int reason) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x46, 0x80 | reason, 0);
    b.setInt(16, tag).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, new byte[0]);
    return tag;
  }

  /** Text Request with keys (or an empty continuation when {@code ttt} is not 0xffffffff). */
  public int text(String keys, int tag, int ttt) throws IOException {
    ByteBuf b = bhs(0x04, 0x80, keys.length());
    b.setInt(16, tag).setInt(20, ttt).setInt(24, cmdSn++).setInt(28, expStatSn);
    send(b, keys.getBytes(StandardCharsets.UTF_8));
    return tag;
  }

  /** NOP-Out answering a target's NOP-In ping. */
  public void answerPing(int ttt) throws IOException {
    ByteBuf b = bhs(0x40, 0x80, 0);
    b.setInt(16, -1).setInt(20, ttt).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, new byte[0]);
  }

  public void send(ByteBuf bhs, byte[] data) throws IOException {
    send(bhs, data, headerDigest, dataDigest);
  }

  /** Sends a BHS and data with padding, and digests as negotiated (or forced). */
  public void send(ByteBuf bhs, byte[] data, boolean hd, boolean dd) throws IOException {
    ByteBuf frame = Unpooled.buffer();
    frame.writeBytes(bhs, 0, 48);
    if (hd) {
      frame.writeIntLE(IscsiDigest.crc32c(bhs, 0, 48, 0));
    }
    frame.writeBytes(data);
    int pad = (4 - (data.length & 3)) & 3;
    frame.writeZero(pad);
    if (dd && data.length > 0) {
      frame.writeIntLE(IscsiDigest.crc32c(Unpooled.wrappedBuffer(data), 0, data.length, pad));
    }
    sendRaw(frame);
  }

  public void sendRaw(ByteBuf bytes) throws IOException {
    byte[] b = new byte[bytes.readableBytes()];
    bytes.readBytes(b);
    out.write(b);
    out.flush();
  }

  public void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads one PDU; throws EOFException when the target closed the connection. */
  public Pdu read() throws IOException {
    byte[] bhs = new byte[48];
    in.readFully(bhs);
    if (headerDigest) {
      in.readInt();
    }
    int length = Unpooled.wrappedBuffer(bhs).getUnsignedMedium(5);
    byte[] data = new byte[length];
    in.readFully(data);
    in.skipNBytes((4 - (length & 3)) & 3);
    if (dataDigest && length > 0) {
      in.readInt();
    }
    Pdu pdu = new Pdu(bhs, data);
    int op = pdu.opcode();
    boolean carriesStatSn = op == 0x21 || op == 0x22 || op == 0x24 || op == 0x26 || op == 0x3f
        || (op == 0x20 && pdu.intAt(16) != -1) || (op == 0x25 && (bhs[1] & 1) != 0);
    if (carriesStatSn) {
      expStatSn = pdu.intAt(24) + 1;
    }
    return pdu;
  }

  /** True when the target closes the connection within the socket timeout (reading past PDUs). */
  public boolean closedByTarget() throws IOException {
    try {
      for (int i = 0; i < 100; i++) {
        read();
      }
      return false;
    } catch (EOFException | java.net.SocketException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    }
  }

  /** True when nothing arrives within {@code millis}. */
  public boolean silentFor(int millis) throws IOException {
    socket.setSoTimeout(millis);
    try {
      read();
      return false;
    } catch (SocketTimeoutException e) {
      return true;
    } finally {
      socket.setSoTimeout(5000);
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
