package org.iscsicsi.target.admin;

import org.iscsicsi.target.qos.LunThrottle;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.LunQosStatistics;

/** Translation between target.v1's LunQos messages and the engine's {@link QosLimits}. */
final class QosMessages {

  private QosMessages() {
  }

  /** The limits a message asks for; INVALID_ARGUMENT naming every figure out of range. */
  static QosLimits limits(LunQos q) {
    try {
      return new QosLimits(q.getReadIops(), q.getWriteIops(), q.getReadBytesPerSecond(),
          q.getWriteBytesPerSecond(), q.getBurstMillis());
    } catch (IllegalArgumentException e) {
      throw new RegistryException(RegistryException.Reason.INVALID_ARGUMENT,
          "qos: " + e.getMessage());
    }
  }

  static LunQos toProto(QosLimits l) {
    return LunQos.newBuilder().setReadIops(l.readIops()).setWriteIops(l.writeIops())
        .setReadBytesPerSecond(l.readBytesPerSecond())
        .setWriteBytesPerSecond(l.writeBytesPerSecond()).setBurstMillis(l.burstMillis()).build();
  }

  static LunQosStatistics toProto(LunThrottle.Stats s) {
    return LunQosStatistics.newBuilder()
        .setReadThrottledNanos(s.delayedNanos()[0]).setWriteThrottledNanos(s.delayedNanos()[1])
        .setReadThrottledCommands(s.delayedCommands()[0])
        .setWriteThrottledCommands(s.delayedCommands()[1])
        .setRefusedCommands(s.refusedCommands()[0] + s.refusedCommands()[1]).build();
  }
}
