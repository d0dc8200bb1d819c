package org.iscsicsi.target.cli;

import java.util.concurrent.Callable;
import org.iscsicsi.target.names.IscsiNames;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code iname}: prints a new unique IQN, like open-iscsi's {@code iscsi-iname}. */
@Command(name = "iname", description = "Print a new unique iSCSI name.")
final class InameCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = {"-p", "--prefix"}, paramLabel = "P",
      description = "iqn. prefix (default " + IscsiNames.DEFAULT_PREFIX + ").")
  String prefix;

  @Override
  public Integer call() {
    spec.commandLine().getOut().println(IscsiNames.generate(prefix));
    return 0;
  }
}
