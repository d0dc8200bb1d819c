package org.iscsicsi.target.cli;

import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.v1.LunQos;
import picocli.CommandLine.Option;

/** The I/O limit options of {@code lun create} and {@code lun qos}; the engine validates them. */
final class QosOptions {

  @Option(names = "--read-iops", paramLabel = "N", description = "READ commands per second "
      + "(0: no limit).")
  long readIops;

  @Option(names = "--write-iops", paramLabel = "N", description = "WRITE commands per second "
      + "(0: no limit).")
  long writeIops;

  @Option(names = "--read-bps", paramLabel = "SIZE", description = "Bytes read per second, "
      + "with an optional K, M, G suffix (0: no limit).")
  String readBytes = "0";

  @Option(names = "--write-bps", paramLabel = "SIZE", description = "Bytes written per second, "
      + "with an optional K, M, G suffix (0: no limit).")
  String writeBytes = "0";

  @Option(names = "--burst-ms", paramLabel = "MS", description = "How long a LUN may run at "
      + "full speed after a quiet spell: each bucket holds rate x burst (0: paced).")
  long burstMillis;

  LunQos toProto() {
    return LunQos.newBuilder().setReadIops(readIops).setWriteIops(writeIops)
        .setReadBytesPerSecond(Sizes.parse(readBytes))
        .setWriteBytesPerSecond(Sizes.parse(writeBytes)).setBurstMillis(burstMillis).build();
  }

  /** "no I/O limits", or the figures that are set. */
  static String describe(LunQos q) {
    List<String> parts = new ArrayList<>();
    if (q.getReadIops() > 0) {
      parts.add("read " + q.getReadIops() + " IOPS");
    }
    if (q.getWriteIops() > 0) {
      parts.add("write " + q.getWriteIops() + " IOPS");
    }
    if (q.getReadBytesPerSecond() > 0) {
      parts.add("read " + Sizes.format(q.getReadBytesPerSecond()) + "/s");
    }
    if (q.getWriteBytesPerSecond() > 0) {
      parts.add("write " + Sizes.format(q.getWriteBytesPerSecond()) + "/s");
    }
    return parts.isEmpty() ? "no I/O limits"
        : String.join(", ", parts) + ", burst " + q.getBurstMillis() + " ms";
  }
}
