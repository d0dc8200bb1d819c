package org.iscsicsi.target.session;

/**
 * What one connection may hold in the full feature phase, whatever its initiator sends. Together
 * with the negotiated FirstBurstLength, MaxBurstLength and MaxRecvDataSegmentLength they put a
 * ceiling on a connection's memory (see {@link #ceilingBytes}).
 *
 * @param maxTasks SCSI tasks in flight: an immediate command beyond it is rejected ("too many
 *     immediate commands", RFC 7143 section 11.17.1); non-immediate ones are held back by the
 *     command window, which never exceeds this
 * @param maxBytesInFlight bytes of data the connection's tasks may buffer together (Data-Out being
 *     gathered, Data-In not yet handed to the socket); a command that would go beyond it while
 *     others are in flight gets TASK SET FULL (SAM-5 5.3.1), so one command of any admitted size
 *     always runs
 * @param writeHighWaterMark bytes queued for a peer that does not read, after which the
 *     connection stops reading PDUs (netty's write buffer high water mark)
 * @param writeLowWaterMark queued bytes below which reading resumes
 */
public record DataPathLimits(int maxTasks, long maxBytesInFlight, int writeHighWaterMark,
    int writeLowWaterMark) {

  public static final DataPathLimits DEFAULTS =
      new DataPathLimits(256, 64L << 20, 4 << 20, 1 << 20);

  public DataPathLimits {
    if (maxTasks < 1) {
      throw new IllegalArgumentException("maxTasks must be positive: " + maxTasks);
    }
    if (maxBytesInFlight < 1) {
      throw new IllegalArgumentException("maxBytesInFlight must be positive: "
          + maxBytesInFlight);
    }
    if (writeLowWaterMark < 1 || writeHighWaterMark < writeLowWaterMark) {
      throw new IllegalArgumentException("write water marks need 0 < low <= high: "
          + writeLowWaterMark + ", " + writeHighWaterMark);
    }
  }

  /**
   * The most a connection holds: its budget of buffered data plus one command admitted on an
   * empty budget (at most {@code largestCommand}), what is queued for the socket until reading
   * stops plus the responses of the tasks then in flight, and one socket read (at most
   * {@code largestPdu}) held while reading is stopped.
   */
  public long ceilingBytes(long largestCommand, long largestPdu) {
    return maxBytesInFlight + largestCommand + writeHighWaterMark + largestPdu;
  }
}
