package org.iscsicsi.controller.engine;

/**
 * The controller's probes of one engine incarnation: whether its admin API answered as this
 * engine and incarnation, the failures since the last answer, and why it is not this engine.
 */
record ProbeRecord(boolean answered, String incarnation, int failures, String lastError,
    String wrongEngine) {

  /** Nothing probed yet (a join, a restart, or a Lease that was expired). */
  static final ProbeRecord NONE = new ProbeRecord(false, "", 0, "", "");

  static ProbeRecord answeredAs(String incarnation) {
    return new ProbeRecord(true, incarnation, 0, "", "");
  }

  ProbeRecord failed(String error) {
    return new ProbeRecord(answered, incarnation, failures + 1, error, "");
  }

  ProbeRecord wrongEngine(String why) {
    return new ProbeRecord(false, "", failures, "", why);
  }

  boolean answeredFor(String expectedIncarnation) {
    return answered && incarnation.equals(expectedIncarnation);
  }
}
