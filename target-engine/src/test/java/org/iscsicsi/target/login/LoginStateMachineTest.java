package org.iscsicsi.target.login;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.login.LoginFixtures.chapResponse;
import static org.iscsicsi.target.login.LoginFixtures.keys;
import static org.iscsicsi.target.login.LoginFixtures.request;
import static org.iscsicsi.target.login.LoginFixtures.status;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.login.LoginFixtures.Target;
import org.iscsicsi.target.pdu.TargetPdu.LoginResponse;
import org.junit.jupiter.api.Test;

/**
 * Pins the login phase of RFC 7143 without a network: stage transitions (CSG/NSG, T and C bits),
 * the negotiation rule of every section 13 key (minimum, maximum, AND, OR, list, declarative,
 * Reject, NotUnderstood, Irrelevant), per-target overrides, the status class/detail of each
 * failure, and CHAP (MD5, SHA-256, mutual, wrong secret, reflected challenge).
 */
class LoginStateMachineTest {

  static final String INITIATOR = "iqn.2026-11.org.example:host1";
  static final String OPEN = "iqn.2026-11.org.iscsicsi:open";
  static final String CHAP = "iqn.2026-11.org.iscsicsi:chap";
  static final String MUTUAL = "iqn.2026-11.org.iscsicsi:mutual";
  static final String ONE_WAY_ONLY = "iqn.2026-11.org.iscsicsi:oneway";
  static final ChapSecret ALICE = new ChapSecret("alice", "alice-secret-12".getBytes(
      StandardCharsets.UTF_8));
  static final ChapSecret TARGET_SECRET = new ChapSecret("tgt", "target-secret-34".getBytes(
      StandardCharsets.UTF_8));

  final Target open = new Target(OPEN, "disk one", 7, Map.of(INITIATOR, AccessLevel.READ_WRITE),
      Optional.empty(), Optional.empty(), Map.of());
  final Target tuned = new Target("iqn.2026-11.org.iscsicsi:tuned", "", 1,
      Map.of("ALL", AccessLevel.READ_ONLY), Optional.empty(), Optional.empty(),
      Map.of("MaxRecvDataSegmentLength", "8192", "InitialR2T", "Yes", "HeaderDigest", "None"));
  final Target chap = new Target(CHAP, "", 1, Map.of("ALL", AccessLevel.READ_WRITE),
      Optional.of(ALICE), Optional.empty(), Map.of());
  final Target mutual = new Target(MUTUAL, "", 1, Map.of("ALL", AccessLevel.READ_WRITE),
      Optional.of(ALICE), Optional.of(TARGET_SECRET), Map.of());

  LoginStateMachine machine() {
    return new LoginStateMachine(LoginFixtures.directory(open, tuned, chap, mutual), Map.of(),
        new SecureRandom());
  }

  @Test
  void securityThenOperationalStageNegotiatesEveryKey() throws Exception {
    LoginStateMachine m = machine();
    LoginResponse first = m.process(request(true, 0, 1, "InitiatorName=" + INITIATOR,
        "InitiatorAlias=host1", "SessionType=Normal", "TargetName=" + OPEN,
        "AuthMethod=CHAP,None"));
    assertThat(first.transit()).isTrue();
    assertThat(first.nsg()).isEqualTo(1);
    assertThat(status(first)).isZero();
    assertThat(keys(first)).containsEntry("AuthMethod", "None")
        .containsEntry("TargetPortalGroupTag", "7").containsEntry("TargetAlias", "disk one");

    LoginResponse second = m.process(request(true, 1, 3,
        "HeaderDigest=CRC32C,None", "DataDigest=None", "MaxConnections=4", "InitialR2T=Yes",
        "ImmediateData=No", "MaxRecvDataSegmentLength=65536", "MaxBurstLength=16776192",
        "FirstBurstLength=0x10000", "DefaultTime2Wait=0", "DefaultTime2Retain=60",
        "MaxOutstandingR2T=1", "DataPDUInOrder=No", "DataSequenceInOrder=Yes",
        "ErrorRecoveryLevel=2", "IFMarker=No", "OFMarkInt=2048", "X-com.example.tuning=1",
        "TargetAlias=bogus", "SomeFutureKey=1"));
    assertThat(second.transit()).isTrue();
    assertThat(second.nsg()).isEqualTo(3);
    Map<String, String> k = keys(second);
    assertThat(k).containsEntry("HeaderDigest", "CRC32C").containsEntry("DataDigest", "None")
        .containsEntry("MaxConnections", "1")           // minimum
        .containsEntry("InitialR2T", "Yes")             // OR
        .containsEntry("ImmediateData", "No")           // AND
        .containsEntry("MaxBurstLength", "1048576")     // minimum
        .containsEntry("FirstBurstLength", "65536")     // hex offer, minimum
        .containsEntry("DefaultTime2Wait", "2")         // maximum
        .containsEntry("DefaultTime2Retain", "0")       // minimum
        .containsEntry("MaxOutstandingR2T", "1")
        .containsEntry("DataPDUInOrder", "Yes")         // OR
        .containsEntry("ErrorRecoveryLevel", "0")
        .containsEntry("IFMarker", "No")
        .containsEntry("OFMarkInt", "Irrelevant")
        .containsEntry("TargetAlias", "Irrelevant")
        .containsEntry("X-com.example.tuning", "NotUnderstood")
        .containsEntry("SomeFutureKey", "NotUnderstood")
        .containsEntry("MaxRecvDataSegmentLength", "262144") // the target's own declaration
        .doesNotContainKey("InitiatorAlias");
    assertThat(m.state()).isEqualTo(LoginStateMachine.State.COMPLETE);
    SessionParameters p = m.result().parameters();
    assertThat(p.headerDigest()).isTrue();
    assertThat(p.dataDigest()).isFalse();
    assertThat(p.initiatorMaxRecvDataSegmentLength()).isEqualTo(65536);
    assertThat(p.targetMaxRecvDataSegmentLength()).isEqualTo(262144);
    assertThat(p.maxBurstLength()).isEqualTo(1048576);
    assertThat(p.firstBurstLength()).isEqualTo(65536);
    assertThat(p.initialR2t()).isTrue();
    assertThat(p.immediateData()).isFalse();
    assertThat(m.result().initiatorAlias()).isEqualTo("host1");
    assertThat(m.result().access()).isEqualTo(AccessLevel.READ_WRITE);
  }

  @Test
  void keysNobodyOfferedKeepTheirRfcDefaults() throws Exception {
    LoginStateMachine m = machine();
    m.process(request(true, 0, 1, "InitiatorName=" + INITIATOR, "TargetName=" + OPEN,
        "AuthMethod=None")).release();
    m.process(request(true, 1, 3)).release();
    SessionParameters p = m.result().parameters();
    assertThat(p.initialR2t()).isTrue();
    assertThat(p.immediateData()).isTrue();
    assertThat(p.maxBurstLength()).isEqualTo(262144);
    assertThat(p.firstBurstLength()).isEqualTo(65536);
    assertThat(p.initiatorMaxRecvDataSegmentLength()).isEqualTo(8192);
    assertThat(p.maxOutstandingR2t()).isEqualTo(1);
  }

  @Test
  void malformedOrOutOfRangeValuesAreRejected() throws Exception {
    LoginStateMachine m = machine();
    m.process(request(false, 1, 0, "InitiatorName=" + INITIATOR, "TargetName=" + OPEN))
        .release();
    Map<String, String> k = keys(m.process(request(false, 1, 0, "MaxBurstLength=abc",
        "ImmediateData=Maybe", "HeaderDigest=MD5", "ErrorRecoveryLevel=7",
        "MaxRecvDataSegmentLength=100", "FirstBurstLength=99999999")));
    assertThat(k).containsEntry("MaxBurstLength", "Reject")
        .containsEntry("ImmediateData", "Reject").containsEntry("HeaderDigest", "Reject")
        .containsEntry("ErrorRecoveryLevel", "Reject")
        .containsEntry("MaxRecvDataSegmentLength", "Reject")
        .containsEntry("FirstBurstLength", "Reject");
    assertThat(m.state()).isEqualTo(LoginStateMachine.State.IN_PROGRESS);
  }

  @Test
  void targetLoginParametersOverrideTheEngineDefaults() throws Exception {
    LoginStateMachine m = machine();
    m.process(request(true, 0, 1, "InitiatorName=" + INITIATOR, "TargetName=" + tuned.name(),
        "AuthMethod=None")).release();
    Map<String, String> k = keys(m.process(request(true, 1, 3, "InitialR2T=No",
        "HeaderDigest=CRC32C,None")));
    assertThat(k).containsEntry("MaxRecvDataSegmentLength", "8192")
        .containsEntry("InitialR2T", "Yes").containsEntry("HeaderDigest", "None");
    assertThat(m.result().access()).isEqualTo(AccessLevel.READ_ONLY);
  }

  @Test
  void failuresCarryTheirStatusClassAndDetail() {
    assertThat(fail(request(true, 0, 1, "TargetName=" + OPEN))).isEqualTo(0x0207);
    assertThat(fail(request(true, 0, 1, "InitiatorName=" + INITIATOR))).isEqualTo(0x0207);
    assertThat(fail(request(true, 0, 1, "InitiatorName=" + INITIATOR,
        "TargetName=iqn.2026-11.org.iscsicsi:nope"))).isEqualTo(0x0203);
    // not granted: the same "not found" as a target that does not exist
    assertThat(fail(request(true, 0, 1, "InitiatorName=iqn.2026-11.org.example:stranger",
        "TargetName=" + OPEN))).isEqualTo(0x0203);
    assertThat(fail(request(true, 0, 1, "InitiatorName=" + INITIATOR,
        "SessionType=Weird"))).isEqualTo(0x0209);
    assertThat(fail(request(true, false, 0, 1, 5, "InitiatorName=" + INITIATOR,
        "TargetName=" + OPEN))).isEqualTo(0x020a);
    assertThat(fail(request(true, 0, 0, "InitiatorName=" + INITIATOR,
        "TargetName=" + OPEN))).isEqualTo(0x0200);
    assertThat(fail(request(true, 0, 1, "InitiatorName=" + INITIATOR, "TargetName=" + OPEN,
        "Broken"))).isEqualTo(0x0200);
  }

  private int fail(org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest req) {
    LoginStateMachine m = machine();
    LoginResponse r = m.process(req);
    req.release();
    r.release();
    assertThat(m.state()).isEqualTo(LoginStateMachine.State.FAILED);
    assertThat(r.transit()).isFalse();
    return status(r);
  }

  @Test
  void textSpanningPdusWithTheContinueBit() throws Exception {
    LoginStateMachine m = machine();
    LoginResponse partial = m.process(request(false, true, 0, 0, 0,
        "InitiatorName=" + INITIATOR));
    assertThat(partial.transit()).isFalse();
    assertThat(partial.data().readableBytes()).isZero();
    LoginResponse done = m.process(request(true, false, 0, 1, 0, "TargetName=" + OPEN,
        "AuthMethod=None"));
    assertThat(status(done)).isZero();
    assertThat(keys(done)).containsEntry("AuthMethod", "None");
  }

  @Test
  void aLoginOfTooManyPdusIsRefused() throws Exception {
    LoginStateMachine m = machine();
    m.process(request(false, true, 0, 1, 0, "InitiatorName=" + INITIATOR)).release();
    int sent = 1;
    while (m.state() == LoginStateMachine.State.IN_PROGRESS) {
      m.process(request(false, true, 0, 1, 0, "X-more=text")).release();
      sent++;
    }
    assertThat(m.failure()).isEqualTo(LoginStatus.INITIATOR_ERROR);
    assertThat(sent).isEqualTo(LoginStateMachine.MAX_LOGIN_PDUS + 1);
  }

  @Test
  void aMissingAndAnUngrantedTargetGetTheSameAnswer() throws Exception {
    String stranger = "InitiatorName=iqn.2026-11.org.example:stranger";
    var missing = machine().process(request(true, 0, 1, stranger,
        "TargetName=iqn.2026-11.org.iscsicsi:nope"));
    var ungranted = machine().process(request(true, 0, 1, stranger, "TargetName=" + OPEN));
    assertThat(status(missing)).isEqualTo(status(ungranted)).isEqualTo(0x0203);
    assertThat(missing.transit()).isEqualTo(ungranted.transit());
    assertThat(keys(missing)).isEqualTo(keys(ungranted)).isEmpty();
  }

  @Test
  void discoverySessionNeedsNoTarget() throws Exception {
    LoginStateMachine m = new LoginStateMachine(LoginFixtures.directory(open), Map.of(),
        new SecureRandom(), (tsih, isid, initiator, target) -> false,
        LoginPolicy.defaults().withDiscoveryAuth(false));
    m.process(request(true, 0, 1, "InitiatorName=iqn.2026-11.org.example:anyone",
        "SessionType=Discovery", "AuthMethod=None")).release();
    m.process(request(true, 1, 3, "MaxRecvDataSegmentLength=32768")).release();
    assertThat(m.state()).isEqualTo(LoginStateMachine.State.COMPLETE);
    assertThat(m.result().discovery()).isTrue();
    assertThat(m.result().target()).isNull();
  }

  @Test
  void chapMd5WithTheRightSecret() throws Exception {
    LoginStateMachine m = machine();
    Map<String, String> k = chapStart(m, CHAP, "5");
    assertThat(k).containsEntry("CHAP_A", "5");
    assertThat(k.get("CHAP_C")).matches("0x[0-9a-f]{32}");
    int id = Integer.parseInt(k.get("CHAP_I"));
    LoginResponse r = m.process(request(true, 0, 1, "CHAP_N=alice",
        "CHAP_R=" + chapResponse("MD5", id, "alice-secret-12", k.get("CHAP_C"))));
    assertThat(status(r)).isZero();
    assertThat(r.transit()).isTrue();
    r.release();
    m.process(request(true, 1, 3)).release();
    assertThat(m.result().authMethod()).isEqualTo("CHAP");
  }

  @Test
  void chapSha256WhenTheInitiatorOffersIt() throws Exception {
    LoginStateMachine m = machine();
    Map<String, String> k = chapStart(m, CHAP, "7,5");
    assertThat(k).containsEntry("CHAP_A", "7");
    assertThat(k.get("CHAP_C")).matches("0x[0-9a-f]{64}");
    int id = Integer.parseInt(k.get("CHAP_I"));
    LoginResponse r = m.process(request(true, 0, 3, "CHAP_N=alice",
        "CHAP_R=" + chapResponse("SHA-256", id, "alice-secret-12", k.get("CHAP_C"))));
    assertThat(status(r)).isZero();
    r.release();
    assertThat(m.state()).isEqualTo(LoginStateMachine.State.COMPLETE);
  }

  @Test
  void chapWithAWrongSecretOrUserFails() throws Exception {
    for (String[] attempt : new String[][] {{"alice", "wrong"}, {"mallory", "alice-secret-12"}}) {
      LoginStateMachine m = machine();
      Map<String, String> k = chapStart(m, CHAP, "5");
      LoginResponse r = m.process(request(true, 0, 1, "CHAP_N=" + attempt[0], "CHAP_R="
          + chapResponse("MD5", Integer.parseInt(k.get("CHAP_I")), attempt[1],
          k.get("CHAP_C"))));
      assertThat(status(r)).isEqualTo(0x0201);
      r.release();
    }
  }

  @Test
  void chapTargetRefusesAuthMethodNoneAndSkippedSecurity() throws Exception {
    LoginStateMachine m = machine();
    LoginResponse r = m.process(request(true, 0, 1, "InitiatorName=" + INITIATOR,
        "TargetName=" + CHAP, "AuthMethod=None"));
    assertThat(status(r)).isEqualTo(0x0201);
    assertThat(keys(r)).containsEntry("AuthMethod", "Reject");
    LoginStateMachine skip = machine();
    LoginResponse s = skip.process(request(true, 1, 3, "InitiatorName=" + INITIATOR,
        "TargetName=" + CHAP));
    assertThat(status(s)).isEqualTo(0x0201);
    s.release();
  }

  @Test
  void mutualChapAnswersWithTheTargetSecret() throws Exception {
    LoginStateMachine m = machine();
    Map<String, String> k = chapStart(m, MUTUAL, "5");
    int id = Integer.parseInt(k.get("CHAP_I"));
    String myChallenge = "0x00112233445566778899aabbccddeeff";
    LoginResponse r = m.process(request(true, 0, 1, "CHAP_N=alice",
        "CHAP_R=" + chapResponse("MD5", id, "alice-secret-12", k.get("CHAP_C")),
        "CHAP_I=77", "CHAP_C=" + myChallenge));
    assertThat(status(r)).isZero();
    Map<String, String> answer = keys(r);
    assertThat(answer).containsEntry("CHAP_N", "tgt")
        .containsEntry("CHAP_R", chapResponse("MD5", 77, "target-secret-34", myChallenge));
  }

  @Test
  void mutualChapRefusesAReflectedChallenge() throws Exception {
    LoginStateMachine m = machine();
    Map<String, String> k = chapStart(m, MUTUAL, "5");
    int id = Integer.parseInt(k.get("CHAP_I"));
    LoginResponse r = m.process(request(true, 0, 1, "CHAP_N=alice",
        "CHAP_R=" + chapResponse("MD5", id, "alice-secret-12", k.get("CHAP_C")),
        "CHAP_I=" + id, "CHAP_C=" + k.get("CHAP_C")));
    assertThat(status(r)).isEqualTo(0x0201);
    r.release();
  }

  @Test
  void mutualChapWithoutATargetSecretFails() throws Exception {
    LoginStateMachine m = machine();
    Map<String, String> k = chapStart(m, CHAP, "5");
    LoginResponse r = m.process(request(true, 0, 1, "CHAP_N=alice", "CHAP_R=" + chapResponse(
        "MD5", Integer.parseInt(k.get("CHAP_I")), "alice-secret-12", k.get("CHAP_C")),
        "CHAP_I=1", "CHAP_C=0x0102030405060708"));
    assertThat(status(r)).isEqualTo(0x0201);
    r.release();
  }

  /** AuthMethod=CHAP, then CHAP_A; returns the target's CHAP_A/CHAP_I/CHAP_C. */
  private Map<String, String> chapStart(LoginStateMachine m, String target, String algorithms)
      throws Exception {
    LoginResponse first = m.process(request(true, 0, 1, "InitiatorName=" + INITIATOR,
        "TargetName=" + target, "AuthMethod=CHAP,None"));
    assertThat(first.transit()).isFalse();
    assertThat(keys(first)).containsEntry("AuthMethod", "CHAP");
    LoginResponse second = m.process(request(false, 0, 0, "CHAP_A=" + algorithms));
    assertThat(status(second)).isZero();
    return keys(second);
  }
}
