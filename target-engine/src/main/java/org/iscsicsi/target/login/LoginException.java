package org.iscsicsi.target.login;

/** A login that must end with a non-success status; the message is for logs, never secrets. */
public final class LoginException extends Exception {

  private final LoginStatus status;

  public LoginException(LoginStatus status, String message) {
    super(message);
    this.status = status;
  }

  public LoginStatus status() {
    return status;
  }
}
