package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletionStage;

/**
 * WRITE (6), (10), (12), (16) and WRITE AND VERIFY (10), (12), (16) (SBC-3 5.32-5.39). FUA, or a
 * disabled write cache (WCE 0), puts the data on stable storage before GOOD status.
 *
 * <p>Small writes without FUA go into the page cache on the caller's thread while that stays
 * quick ({@link org.iscsicsi.target.lun.LogicalUnit#writeInline}); the rest runs on an I/O
 * thread.
 */
final class Write implements ScsiCommand {

  /** Writes up to this long without FUA are tried on the caller's thread (page cache). */
  static final int INLINE_MAX = 64 * 1024;

  private final boolean verify;

  Write(boolean verify) {
    this.verify = verify;
  }

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean six = cdb[0] == 0x0a;
    if (!six && (cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    if (verify && (cdb[1] & 0x04) != 0) {
      throw CheckCondition.invalidCdbField(1, 2); // BYTCHK 10b/11b: reserved / not supported
    }
    c.checkWritable();
    BlockRange range = BlockRange.of(cdb);
    c.checkRange(range.lba(), range.blocks());
    if (range.blocks() > VpdPages.maxTransferBlocks(c.blockSize())) {
      throw CheckCondition.invalidCdbField(six ? 4 : cdb[0] == 0x2a || cdb[0] == 0x2e ? 7 : 6, -1);
    }
    if (range.blocks() == 0) {
      return CommandContext.good();
    }
    int length = (int) (range.blocks() * c.blockSize());
    if (c.dataOutLength() < length) {
      // The expected transfer length was smaller than the CDB's: write the whole blocks that came
      // (the iSCSI layer reports the residual overflow, RFC 7143 11.4.5.2).
      length = c.dataOutLength() / c.blockSize() * c.blockSize();
      if (length == 0) {
        return CommandContext.good();
      }
    }
    boolean fua = !six && (cdb[1] & 0x08) != 0 || verify;
    return write(c, range.lba() * c.blockSize(), c.dataOut(), length, fua);
  }

  static CompletionStage<ScsiResponse> write(CommandContext c, long offset, ByteBuf data,
      int length, boolean fua) {
    boolean force = fua || !c.lu.modePages.writeCacheEnabled();
    CommandContext.IoTask blocking = () -> {
      long stamp = c.lu.atomicity.readLock();
      try {
        // the received segments (components of a composite) go to the file as they are
        c.io().write(offset, data.nioBuffers(data.readerIndex(), length), force);
      } finally {
        c.lu.atomicity.unlockRead(stamp);
      }
      return ScsiResponse.good();
    };
    if (force || length > INLINE_MAX) {
      return c.limitedIo(true, length, null, blocking);
    }
    return c.limitedIo(true, length, () -> {
      long stamp = c.lu.atomicity.tryReadLock();
      if (stamp == 0) {
        return null; // a COMPARE AND WRITE holds the LUN
      }
      try {
        return c.io().writeInline(offset, data.nioBuffers(data.readerIndex(), length))
            ? ScsiResponse.good() : null;
      } finally {
        c.lu.atomicity.unlockRead(stamp);
      }
    }, blocking);
  }
}
