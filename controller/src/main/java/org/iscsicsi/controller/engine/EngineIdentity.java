package org.iscsicsi.controller.engine;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.UnknownFieldSet;
import java.util.List;
import org.iscsicsi.target.v1.EngineInfo;

/**
 * The name and incarnation an engine reports in {@code GetEngineInfo} (target.v1 fields 6 and 7,
 * docs/pools.md section 9), read whether or not this build's proto declares them: by field
 * name when it does, else by field number from the unknown fields. Empty when the engine does
 * not report them (an engine older than self-registration).
 */
public record EngineIdentity(String name, String incarnation) {

  static final int NAME_FIELD = 6;
  static final int INCARNATION_FIELD = 7;

  public static EngineIdentity of(EngineInfo info) {
    return new EngineIdentity(field(info, "name", NAME_FIELD),
        field(info, "incarnation", INCARNATION_FIELD));
  }

  private static String field(EngineInfo info, String name, int number) {
    FieldDescriptor declared = info.getDescriptorForType().findFieldByName(name);
    if (declared != null && declared.getNumber() == number
        && !((String) info.getField(declared)).isEmpty()) {
      return (String) info.getField(declared);
    }
    UnknownFieldSet.Field unknown = info.getUnknownFields().getField(number);
    List<ByteString> values = unknown.getLengthDelimitedList();
    return values.isEmpty() ? "" : values.getLast().toStringUtf8();
  }
}
