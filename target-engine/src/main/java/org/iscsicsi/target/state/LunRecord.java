package org.iscsicsi.target.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.nio.file.Path;
import java.util.HexFormat;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.scsi.AluaGroups;

/**
 * The persisted definition of one LUN. Serial and NAA are chosen at creation and never change.
 *
 * @param file absolute path of the backing file
 * @param naa 32 hex digits of the NAA IEEE Registered Extended designator
 * @param qos the LUN's I/O limits; null (and left out of the document) when it has none, so a
 *     state without limits reads as before
 * @param alua the LUN's ALUA port slot and the access state of every slot's port group; null
 *     (and left out) for a LUN without a port slot
 */
public record LunRecord(int lun, String file, long sizeBytes, int blockSize, boolean thin,
    boolean readOnly, String serial, String naa,
    @JsonInclude(JsonInclude.Include.NON_NULL) QosLimits qos,
    @JsonInclude(JsonInclude.Include.NON_NULL) AluaGroups alua) {

  public LunRecord {
    if (qos != null && !qos.limited()) {
      qos = null;
    }
  }

  /** A LUN without a port slot. */
  public LunRecord(int lun, String file, long sizeBytes, int blockSize, boolean thin,
      boolean readOnly, String serial, String naa, QosLimits qos) {
    this(lun, file, sizeBytes, blockSize, thin, readOnly, serial, naa, qos, null);
  }

  /** A LUN without I/O limits. */
  public LunRecord(int lun, String file, long sizeBytes, int blockSize, boolean thin,
      boolean readOnly, String serial, String naa) {
    this(lun, file, sizeBytes, blockSize, thin, readOnly, serial, naa, null, null);
  }

  /** The port slot, 0 for none. */
  public int portSlot() {
    return alua == null ? 0 : alua.slot();
  }

  public LunConfig toConfig() {
    return new LunConfig(Path.of(file), sizeBytes, blockSize, thin, readOnly, serial,
        HexFormat.of().parseHex(naa));
  }

  /** The LUN's I/O limits, {@link QosLimits#NONE} when it has none. */
  public QosLimits qosLimits() {
    return qos == null ? QosLimits.NONE : qos;
  }

  public LunRecord withSize(long newSize) {
    return new LunRecord(lun, file, newSize, blockSize, thin, readOnly, serial, naa, qos, alua);
  }

  public LunRecord withQos(QosLimits limits) {
    return new LunRecord(lun, file, sizeBytes, blockSize, thin, readOnly, serial, naa, limits,
        alua);
  }

  public LunRecord withAlua(AluaGroups groups) {
    return new LunRecord(lun, file, sizeBytes, blockSize, thin, readOnly, serial, naa, qos,
        groups);
  }
}
