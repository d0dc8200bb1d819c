package org.iscsicsi.csi;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import csi.v1.Csi;
import java.util.Map;

/**
 * Removes secrets from a message before it is logged: every field the CSI spec marks with the
 * {@code csi_secret} option (CSI spec, "Secrets Requirements": secrets MUST NOT be logged), at any
 * depth, keeping the keys of secret maps so a log still shows which secrets were passed. Mount
 * flags, which the spec says may be sensitive, are dropped too.
 */
public final class Redactor {

  static final String HIDDEN = "***";

  private Redactor() {}

  public static Message redact(Message message) {
    Message.Builder b = message.toBuilder();
    redactInto(b);
    return b.build();
  }

  private static void redactInto(Message.Builder b) {
    for (Map.Entry<FieldDescriptor, Object> e : b.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (f.getOptions().getExtension(Csi.csiSecret)
          || f.getName().equals("mount_flags")) {
        if (f.isMapField()) {
          java.util.List<Message> masked = new java.util.ArrayList<>();
          for (Object entry : (java.util.List<?>) e.getValue()) {
            Message m = (Message) entry;
            FieldDescriptor value = m.getDescriptorForType().findFieldByName("value");
            masked.add(m.toBuilder().setField(value, HIDDEN).build());
          }
          b.setField(f, masked);
        } else {
          b.clearField(f);
        }
      } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        if (f.isRepeated()) {
          int n = b.getRepeatedFieldCount(f);
          for (int i = 0; i < n; i++) {
            Message.Builder child = ((Message) b.getRepeatedField(f, i)).toBuilder();
            redactInto(child);
            b.setRepeatedField(f, i, child.build());
          }
        } else {
          Message.Builder child = ((Message) e.getValue()).toBuilder();
          redactInto(child);
          b.setField(f, child.build());
        }
      }
    }
  }
}
