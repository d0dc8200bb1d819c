package org.iscsicsi.target.login;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.names.WireText;
import org.iscsicsi.target.pdu.InitiatorPdu.LoginRequest;
import org.iscsicsi.target.pdu.TargetPdu.LoginResponse;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target side of one connection's login phase (RFC 7143 sections 6 and 11.12/11.13): the
 * security stage (AuthMethod None or CHAP, see {@link ChapAuthenticator}), the operational stage
 * (see {@link KeyNegotiator}), stage transitions through CSG/NSG and the T bit, text spanning
 * several PDUs with the C bit, and the status codes of failed logins. It does no I/O: feed it
 * Login Request PDUs, send what it returns. Sequence numbers and the TSIH are the caller's.
 *
 * <p>Not thread-safe: one instance per connection, used from its event loop.
 */
public final class LoginStateMachine {

  private static final Logger log = LoggerFactory.getLogger(LoginStateMachine.class);

  /** Stage codes of CSG/NSG (section 11.12.3). */
  public static final int SECURITY = 0;
  public static final int OPERATIONAL = 1;
  public static final int FULL_FEATURE = 3;

  /** Largest login text accepted over all PDUs of one exchange (C bit continuations). */
  public static final int MAX_TEXT = 64 * 1024;
  /** Most Login Requests one login may take; a real one needs at most about six. */
  public static final int MAX_LOGIN_PDUS = 64;

  /** Where the login stands. */
  public enum State { IN_PROGRESS, COMPLETE, FAILED }

  private final TargetDirectory directory;
  private final Map<String, String> engineDefaults;
  private final SecureRandom random;
  private final SessionLookup sessions;
  private final LoginPolicy policy;
  private int pdus;

  private State state = State.IN_PROGRESS;
  private int stage = -1;
  private boolean first = true;
  private long isid;
  private int tsih;
  private int cid;
  private String initiatorName;
  private String initiatorAlias = "";
  private boolean discovery;
  private ExportedTarget target;
  private AccessLevel access;
  private KeyNegotiator negotiator;
  private String authMethod;
  private boolean authenticated;
  private ChapAuthenticator chap;
  private DiscoveryScope scope = new DiscoveryScope.AllGranted();
  private boolean declaredMrdsl;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private LoginResult result;
  private LoginStatus failure;

  /**
   * @param engineDefaults login key values of the engine (RFC 7143 names), overriding the built-in
   *     defaults; a target's {@link ExportedTarget#loginParameters()} override these
   */
  public LoginStateMachine(TargetDirectory directory, Map<String, String> engineDefaults,
      SecureRandom random) {
    this(directory, engineDefaults, random, (tsih, isid, initiator, target) -> false,
        LoginPolicy.defaults());
  }

  /**
   * @param sessions tells whether a login with a non-zero TSIH names a live session of the same
   *     initiator port (connection reinstatement, section 6.3.4); otherwise such a login fails with
   *     "session does not exist"
   * @param policy which CHAP digests and challenges are accepted, and whether discovery needs CHAP
   */
  public LoginStateMachine(TargetDirectory directory, Map<String, String> engineDefaults,
      SecureRandom random, SessionLookup sessions, LoginPolicy policy) {
    this.directory = directory;
    this.policy = policy;
    this.engineDefaults = Map.copyOf(engineDefaults);
    this.random = random;
    this.sessions = sessions;
  }

  /** Looks up live sessions for logins that carry a TSIH. */
  @FunctionalInterface
  public interface SessionLookup {
    boolean exists(int tsih, long isid, String initiatorName, String targetName);
  }

  /**
   * The engine's login defaults merged with {@code overrides}.
   *
   * @throws IllegalArgumentException when an override is malformed or out of range
   */
  public static Map<String, String> defaultsWith(Map<String, String> overrides) {
    Map<String, String> merged = KeyNegotiator.defaults();
    merged.putAll(overrides);
    new KeyNegotiator(merged); // validates
    return merged;
  }

  public State state() {
    return state;
  }

  /** Set once {@link #state()} is COMPLETE. */
  public LoginResult result() {
    return result;
  }

  /**
   * Whether the login failed on a CHAP response that matched no credential: a wrong secret or
   * user name, what guessing produces (refusing AuthMethod None or a malformed exchange is not).
   */
  public boolean credentialRejected() {
    return chap != null && chap.responseRejected();
  }

  /** Why the login failed, once {@link #state()} is FAILED. */
  public LoginStatus failure() {
    return failure;
  }

  /**
   * Handles one Login Request (the caller keeps ownership of its data) and returns the Login
   * Response to send, with TSIH 0 and sequence numbers 0 (the caller fills them in). After a
   * response with a non-zero status class, the caller closes the connection.
   */
  public LoginResponse process(LoginRequest request) {
    if (state != State.IN_PROGRESS) {
      throw new IllegalStateException("login already " + state);
    }
    Map<String, String> response = new LinkedHashMap<>();
    try {
      return step(request, response);
    } catch (LoginException e) {
      state = State.FAILED;
      failure = e.status();
      log.info("login of {} to {} failed: {} ({})", WireText.escape(initiatorName),
          target == null ? (discovery ? "discovery" : "?") : target.name(),
          WireText.escape(e.getMessage()), e.status());
      return refusal(request, e.status(),
          response.isEmpty() ? Unpooled.EMPTY_BUFFER : TextKeys.encode(response));
    }
  }

  /** A Login Response ending the login that {@code request} belongs to with {@code status}. */
  public static LoginResponse refusal(LoginRequest request, LoginStatus status) {
    return refusal(request, status, Unpooled.EMPTY_BUFFER);
  }

  private static LoginResponse refusal(LoginRequest request, LoginStatus status,
      io.netty.buffer.ByteBuf keys) {
    return new LoginResponse(false, false, request.csg(), 0, 0, 0, request.isid(), 0,
        request.itt(), 0, 0, 0, status.statusClass(), status.statusDetail(), keys);
  }

  private LoginResponse step(LoginRequest req, Map<String, String> response)
      throws LoginException {
    if (++pdus > MAX_LOGIN_PDUS) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR,
          "more than " + MAX_LOGIN_PDUS + " Login Requests");
    }
    if (first) {
      if (req.versionMin() > 0) {
        throw new LoginException(LoginStatus.UNSUPPORTED_VERSION,
            "version " + req.versionMin() + " not supported");
      }
      isid = req.isid();
      cid = req.cid();
      tsih = req.tsih();
    } else if (req.isid() != isid || req.tsih() != tsih || req.cid() != cid) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR, "ISID, TSIH or CID changed");
    }
    if (req.csg() == 2 || req.csg() == 3 || (req.transit() && (req.nsg() == 2
        || req.nsg() <= req.csg())) || req.csg() < stage) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR,
          "invalid stage transition CSG " + req.csg() + " NSG " + req.nsg());
    }
    if (req.transit() && req.cont()) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR, "T and C bits both set");
    }
    stage = req.csg();
    byte[] bytes = ByteBufUtil.getBytes(req.data());
    if (pending.size() + bytes.length > MAX_TEXT) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR, "login text too long");
    }
    pending.writeBytes(bytes);
    if (req.cont()) {
      // more text follows: ask for it with an empty response (section 6.1)
      return respond(req, false, 0, response);
    }
    SequencedMap<String, String> keys = TextKeys.parse(pending.toByteArray());
    pending.reset();
    if (first) {
      admit(keys, response);
      first = false;
      if (tsih != 0 && !sessions.exists(tsih, isid, initiatorName,
          target == null ? "" : target.name())) {
        throw new LoginException(LoginStatus.SESSION_DOES_NOT_EXIST,
            "TSIH " + tsih + " is not a live session of this initiator");
      }
    }
    for (Map.Entry<String, String> e : keys.entrySet()) {
      handleKey(e.getKey(), e.getValue(), keys, response);
    }
    boolean transit = req.transit();
    if (stage == SECURITY) {
      if (authMethod == null && requiresChap()) {
        throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
            "target requires CHAP; initiator did not negotiate AuthMethod");
      }
      if (chap != null && !chap.challengeSent() && !keys.containsKey("CHAP_A")) {
        transit = false; // CHAP chosen: the initiator must send CHAP_A next
      } else if (chap != null && !authenticated) {
        transit = false;
      }
      if (authMethod == null || "None".equals(authMethod)) {
        authenticated = true;
      }
    } else {
      if (requiresChap() && !authenticated) {
        throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
            "target requires CHAP; security stage skipped");
      }
      if (!declaredMrdsl) {
        response.put("MaxRecvDataSegmentLength",
            Integer.toString(negotiator.targetMaxRecvDataSegmentLength()));
        declaredMrdsl = true;
      }
    }
    if (transit && req.nsg() == FULL_FEATURE) {
      state = State.COMPLETE;
      result = new LoginResult(initiatorName, initiatorAlias, isid, tsih, cid, discovery, target,
          access, authMethod == null ? "None" : authMethod, negotiator.result(declaredMrdsl),
          scope);
    }
    return respond(req, transit, transit ? req.nsg() : 0, response);
  }

  private LoginResponse respond(LoginRequest req, boolean transit, int nsg,
      Map<String, String> response) {
    return new LoginResponse(transit, false, req.csg(), nsg, 0, 0, isid, 0, req.itt(), 0, 0, 0,
        0, 0, response.isEmpty() ? Unpooled.EMPTY_BUFFER : TextKeys.encode(response));
  }

  /** First PDU: who is logging in, to what, and whether that is allowed. */
  private void admit(Map<String, String> keys, Map<String, String> response)
      throws LoginException {
    initiatorName = keys.get("InitiatorName");
    if (initiatorName == null || initiatorName.isEmpty()) {
      throw new LoginException(LoginStatus.MISSING_PARAMETER, "InitiatorName missing");
    }
    if (!IscsiNames.isValid(initiatorName)) {
      String name = initiatorName;
      initiatorName = null; // not a name: keep it out of later messages and results
      throw new LoginException(LoginStatus.INITIATOR_ERROR,
          "InitiatorName '" + name + "' is not a valid iSCSI name");
    }
    String type = keys.getOrDefault("SessionType", "Normal");
    Map<String, String> overrides = Map.of();
    switch (type) {
      case "Discovery" -> {
        discovery = true;
        access = AccessLevel.READ_WRITE;
      }
      case "Normal" -> {
        String targetName = keys.get("TargetName");
        if (targetName == null || targetName.isEmpty()) {
          throw new LoginException(LoginStatus.MISSING_PARAMETER, "TargetName missing");
        }
        // A missing target, an invalid name and a target that does not grant this initiator get
        // the same answer at the same point, so a probe learns nothing about which names exist.
        ExportedTarget found = IscsiNames.isValid(targetName)
            ? directory.target(targetName).orElse(null) : null;
        AccessLevel granted = found == null ? null : found.access(initiatorName);
        if (granted == null || granted == AccessLevel.NONE) {
          throw new LoginException(LoginStatus.NOT_FOUND, found == null
              ? "no target '" + targetName + "'"
              : initiatorName + " is not granted " + targetName);
        }
        target = found;
        access = granted;
        overrides = target.loginParameters();
        response.put("TargetPortalGroupTag", Integer.toString(target.portalGroupTag()));
        if (!target.alias().isEmpty()) {
          response.put("TargetAlias", target.alias());
        }
      }
      default -> throw new LoginException(LoginStatus.SESSION_TYPE_NOT_SUPPORTED,
          "SessionType " + type);
    }
    Map<String, String> prefs = KeyNegotiator.defaults();
    prefs.putAll(engineDefaults);
    prefs.putAll(overrides);
    try {
      negotiator = new KeyNegotiator(prefs);
    } catch (IllegalArgumentException e) {
      throw new LoginException(LoginStatus.TARGET_ERROR,
          "bad login parameter configuration: " + e.getMessage());
    }
  }

  private boolean requiresChap() {
    return target != null ? target.incomingChap().isPresent() : discovery && policy.discoveryAuth();
  }

  /** The credentials that open this login (CHAP chosen). */
  private List<ChapAuthenticator.Credential> credentials() {
    if (target != null) {
      return List.of(new ChapAuthenticator.Credential(target.incomingChap().orElseThrow(),
          target.outgoingChap()));
    }
    if (policy.discoverySecret().isPresent()) {
      return List.of(new ChapAuthenticator.Credential(policy.discoverySecret().get(),
          Optional.empty()));
    }
    List<ChapAuthenticator.Credential> out = new ArrayList<>();
    for (ExportedTarget t : directory.targets()) {
      AccessLevel level = t.access(initiatorName);
      if (level != null && level != AccessLevel.NONE && t.incomingChap().isPresent()) {
        var c = new ChapAuthenticator.Credential(t.incomingChap().get(), t.outgoingChap());
        if (!out.contains(c)) {
          out.add(c);
        }
      }
    }
    return out;
  }

  private void handleKey(String key, String value, Map<String, String> keys,
      Map<String, String> response) throws LoginException {
    switch (key) {
      case "InitiatorName", "SessionType", "TargetName" -> {
        // read at admission; a later PDU may repeat them
      }
      case "InitiatorAlias" -> initiatorAlias = value;
      case "TargetAlias", "TargetAddress", "TargetPortalGroupTag", "SendTargets" ->
          response.put(key, KeyNegotiator.IRRELEVANT);
      case "AuthMethod" -> {
        requireSecurityStage(key);
        String chosen = null;
        String acceptable = requiresChap() ? "CHAP" : "None";
        for (String offered : value.split(",")) {
          if (offered.equals(acceptable)) {
            chosen = offered;
            break;
          }
        }
        if (chosen == null) {
          response.put(key, KeyNegotiator.REJECT);
          throw new LoginException(LoginStatus.AUTHENTICATION_FAILURE,
              "AuthMethod " + value + " not acceptable, need " + acceptable);
        }
        authMethod = chosen;
        response.put(key, chosen);
        if (chosen.equals("CHAP")) {
          chap = new ChapAuthenticator(credentials(), policy, random);
        }
      }
      case "CHAP_A" -> {
        requireSecurityStage(key);
        if (chap == null || chap.challengeSent()) {
          throw new LoginException(LoginStatus.INITIATOR_ERROR, "unexpected CHAP_A");
        }
        chap.challenge(value, response);
      }
      case "CHAP_N" -> {
        requireSecurityStage(key);
        if (chap == null || !chap.challengeSent() || authenticated) {
          throw new LoginException(LoginStatus.INITIATOR_ERROR, "unexpected CHAP_N");
        }
        ChapAuthenticator.Credential proved = chap.verify(keys, response);
        authenticated = true;
        if (discovery && policy.discoverySecret().isEmpty()) {
          scope = new DiscoveryScope.SameCredential(proved.incoming());
        }
      }
      case "CHAP_R", "CHAP_I", "CHAP_C" -> {
        requireSecurityStage(key);
        if (!keys.containsKey("CHAP_N")) {
          throw new LoginException(LoginStatus.INITIATOR_ERROR, key + " without CHAP_N");
        }
      }
      default -> {
        if (KeyNegotiator.isOperational(key)) {
          String answer = negotiator.negotiate(key, value);
          if (answer != null) {
            response.put(key, answer);
          }
        } else {
          response.put(key, KeyNegotiator.NOT_UNDERSTOOD);
        }
      }
    }
  }

  private void requireSecurityStage(String key) throws LoginException {
    if (stage != SECURITY) {
      throw new LoginException(LoginStatus.INITIATOR_ERROR, key + " outside the security stage");
    }
  }
}
