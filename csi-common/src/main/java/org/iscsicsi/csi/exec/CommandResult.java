package org.iscsicsi.csi.exec;

/** What a finished host command returned: its exit code and captured output. */
public record CommandResult(int exitCode, String stdout, String stderr) {

  public boolean ok() {
    return exitCode == 0;
  }
}
