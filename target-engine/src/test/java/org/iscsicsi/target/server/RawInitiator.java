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
final class RawInitiator implements AutoCloseable {

  /** A PDU as read: the 48-byte BHS and the data segment (without padding and digests). */
  record Pdu(byte[] bhs, byte[] data) {
    int opcode() {
      return bhs[0] & 0x3f;
    }

    int intAt(int offset) {
      return Unpooled.wrappedBuffer(bhs).getInt(offset);
    }

    int byteAt(int offset) {
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

  RawInitiator(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(5000);
    socket.setTcpNoDelay(true);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  void timeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  /** Logs in straight to the operational stage; returns the final Login Response. */
  Pdu login(String initiator, String target, Map<String, String> extraKeys) throws IOException {
    return login(initiator, target, extraKeys, 0);
  }

  /** As {@link #login(String, String, Map)}, naming an existing session's TSIH. */
  Pdu login(String initiator, String target, Map<String, String> extraKeys, int tsih)
      throws IOException {
    StringBuilder keys = new StringBuilder();
    keys.append("InitiatorName=").append(initiator).append('\0');
    if (target == null) {
      keys.append("SessionType=Discovery").append('\0');
    } else {
      keys.append("SessionType=Normal\0TargetName=").append(target).append('\0');
    }
    extraKeys.forEach((k, v) -> keys.append(k).append('=').append(v).append('\0'));
    ByteBuf bhs = bhs(0x43, 0x87, keys.length());
    bhs.setLong(8, 0x23d000000001L << 16 | tsih); // ISID, TSIH
    bhs.setInt(16, itt++);
    bhs.setInt(24, cmdSn);
    bhs.setInt(28, expStatSn);
    send(bhs, keys.toString().getBytes(StandardCharsets.UTF_8), false, false);
    Pdu response = read();
    expStatSn = response.intAt(24) + 1;
    if (response.byteAt(36) == 0) {
      headerDigest = "CRC32C".equals(extraKeys.get("HeaderDigest"));
      dataDigest = "CRC32C".equals(extraKeys.get("DataDigest"));
    }
    return response;
  }

  static ByteBuf bhs(int opcodeByte, int flags, int dataLength) {
    ByteBuf b = Unpooled.buffer(48);
    b.writeByte(opcodeByte).writeByte(flags).writeShort(0).writeByte(0).writeMedium(dataLength)
        .writeZero(40);
    return b;
  }

  /** NOP-Out ping (immediate); the caller reads the NOP-In. */
  int ping() throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x40, 0x80, 0);
    b.setInt(16, tag).setInt(20, -1).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, new byte[0]);
    return tag;
  }

  /** WRITE(10) of one 512-byte block at {@code lba}, all of it immediate data. */
  int write10(long lba, byte[] block, int commandSn) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, 0xa1, block.length);
    b.setInt(16, tag).setInt(20, block.length).setInt(24, commandSn).setInt(28, expStatSn);
    b.setByte(32, 0x2a).setInt(34, (int) lba).setShort(39, block.length / 512);
    send(b, block);
    return tag;
  }

  /** READ(10) of {@code blocks} 512-byte blocks. */
  int read10(long lba, int blocks) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, 0xc1, 0);
    b.setInt(16, tag).setInt(20, blocks * 512).setInt(24, cmdSn++).setInt(28, expStatSn);
    b.setByte(32, 0x28).setInt(34, (int) lba).setShort(39, blocks);
    send(b, new byte[0]);
    return tag;
  }

  /** SCSI Command with any flags (F 0x80, R 0x40, W 0x20) and optional immediate data. */
  int command(int flags, int edtl, byte[] cdb, byte[] immediate) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x01, flags | 0x01, immediate.length);
    b.setInt(16, tag).setInt(20, edtl).setInt(24, cmdSn++).setInt(28, expStatSn);
    b.setBytes(32, cdb);
    send(b, immediate);
    return tag;
  }

  /** SCSI Data-Out. */
  void dataOut(int tag, int ttt, int dataSn, int offset, byte[] data, boolean last)
      throws IOException {
    ByteBuf b = bhs(0x05, last ? 0x80 : 0, data.length);
    b.setInt(16, tag).setInt(20, ttt).setInt(28, expStatSn).setInt(36, dataSn)
        .setInt(40, offset);
    send(b, data);
  }

  /** Task Management Function Request (immediate). */
  int taskManagement(int function, long lun, int referencedTag, int refCmdSn) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x42, 0x80 | function, 0);
    b.setLong(8, lun).setInt(16, tag).setInt(20, referencedTag).setInt(24, cmdSn)
        .setInt(28, expStatSn).setInt(32, refCmdSn);
    send(b, new byte[0]);
    return tag;
  }

  /** Logout Request (immediate). */
  int logout(int reason) throws IOException {
    int tag = itt++;
    ByteBuf b = bhs(0x46, 0x80 | reason, 0);
    b.setInt(16, tag).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, new byte[0]);
    return tag;
  }

  /** Text Request with keys (or an empty continuation when {@code ttt} is not 0xffffffff). */
  int text(String keys, int tag, int ttt) throws IOException {
    ByteBuf b = bhs(0x04, 0x80, keys.length());
    b.setInt(16, tag).setInt(20, ttt).setInt(24, cmdSn++).setInt(28, expStatSn);
    send(b, keys.getBytes(StandardCharsets.UTF_8));
    return tag;
  }

  /** NOP-Out answering a target's NOP-In ping. */
  void answerPing(int ttt) throws IOException {
    ByteBuf b = bhs(0x40, 0x80, 0);
    b.setInt(16, -1).setInt(20, ttt).setInt(24, cmdSn).setInt(28, expStatSn);
    send(b, new byte[0]);
  }

  void send(ByteBuf bhs, byte[] data) throws IOException {
    send(bhs, data, headerDigest, dataDigest);
  }

  /** Sends a BHS and data with padding, and digests as negotiated (or forced). */
  void send(ByteBuf bhs, byte[] data, boolean hd, boolean dd) throws IOException {
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

  void sendRaw(ByteBuf bytes) throws IOException {
    byte[] b = new byte[bytes.readableBytes()];
    bytes.readBytes(b);
    out.write(b);
    out.flush();
  }

  void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads one PDU; throws EOFException when the target closed the connection. */
  Pdu read() throws IOException {
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
  boolean closedByTarget() throws IOException {
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
  boolean silentFor(int millis) throws IOException {
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
