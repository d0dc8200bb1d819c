package org.iscsicsi.target.scsi;

/**
 * Ends a command with CHECK CONDITION and the given sense data, or with RESERVATION CONFLICT (no
 * sense). Thrown by command handlers; {@link ScsiTargetDevice} turns it into the response.
 */
final class CheckCondition extends Exception {

  private final transient Sense sense;
  private final int status;

  CheckCondition(Sense sense) {
    super(sense.toString(), null, false, false);
    this.sense = sense;
    this.status = ScsiResponse.CHECK_CONDITION;
  }

  private CheckCondition(int status) {
    super("status 0x" + Integer.toHexString(status), null, false, false);
    this.sense = null;
    this.status = status;
  }

  static CheckCondition reservationConflict() {
    return new CheckCondition(ScsiResponse.RESERVATION_CONFLICT);
  }

  static CheckCondition invalidCdbField(int byteOffset, int bit) {
    return new CheckCondition(Sense.invalidCdbField(byteOffset, bit));
  }

  static CheckCondition invalidParameterField(int byteOffset, int bit) {
    return new CheckCondition(Sense.invalidParameterField(byteOffset, bit));
  }

  Sense sense() {
    return sense;
  }

  ScsiResponse toResponse() {
    return sense == null
        ? new ScsiResponse(status, new byte[0], null)
        : new ScsiResponse(status, sense.toFixedFormat(), null);
  }
}
