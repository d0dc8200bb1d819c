package org.iscsicsi.target.login;

/** Login Response status class and detail (RFC 7143 section 11.13.5). */
public enum LoginStatus {
  SUCCESS(0x0000),
  INITIATOR_ERROR(0x0200),
  AUTHENTICATION_FAILURE(0x0201),
  AUTHORIZATION_FAILURE(0x0202),
  NOT_FOUND(0x0203),
  TARGET_REMOVED(0x0204),
  UNSUPPORTED_VERSION(0x0205),
  TOO_MANY_CONNECTIONS(0x0206),
  MISSING_PARAMETER(0x0207),
  CANNOT_INCLUDE_IN_SESSION(0x0208),
  SESSION_TYPE_NOT_SUPPORTED(0x0209),
  SESSION_DOES_NOT_EXIST(0x020a),
  INVALID_DURING_LOGIN(0x020b),
  TARGET_ERROR(0x0300),
  SERVICE_UNAVAILABLE(0x0301),
  OUT_OF_RESOURCES(0x0302);

  private final int code;

  LoginStatus(int code) {
    this.code = code;
  }

  public int statusClass() {
    return code >> 8;
  }

  public int statusDetail() {
    return code & 0xff;
  }
}
