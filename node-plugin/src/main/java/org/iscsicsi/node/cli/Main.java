package org.iscsicsi.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.node.kube.LabelKeys;
import org.iscsicsi.node.registration.KubeletRegistration;
import org.iscsicsi.node.server.NodePlugin;
import org.iscsicsi.node.server.NodePluginConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code node-plugin serve --endpoint unix:///csi/csi.sock --node-name NAME [options]} and
 * {@code node-plugin preflight}: the node plugin's command line.
 */
@Command(name = "node-plugin", mixinStandardHelpOptions = true,
    subcommands = {Main.Serve.class, Main.PreflightCmd.class},
    description = "iscsi-csi node plugin: CSI Identity and Node services over open-iscsi")
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.registerConverter(Duration.class, new DurationConverter());
    return cl;
  }

  /** Options shared by every subcommand. */
  static class Options {
    @Option(names = "--driver-name", defaultValue = "iscsi.csi.iscsicsi.org",
        description = "CSI driver name (default: ${DEFAULT-VALUE})")
    String driverName;

    @Option(names = "--node-name", defaultValue = "${env:NODE_NAME}",
        description = "Kubernetes node name, reported as topology (default: $NODE_NAME)")
    String nodeName;

    @Option(names = "--state-dir",
        defaultValue = "/var/lib/kubelet/plugins/iscsi.csi.iscsicsi.org/state",
        description = "where staged volumes are recorded (must survive restarts)")
    Path stateDir;

    @Option(names = "--initiator-name-file", defaultValue = "/etc/iscsi/initiatorname.iscsi")
    Path initiatorNameFile;

    @Option(names = "--iscsiadm", defaultValue = "iscsiadm",
        description = "iscsiadm to run; may be a wrapper that enters the host (nsenter/chroot)")
    String iscsiadm;

    @Option(names = "--discovery", defaultValue = "true", negatable = true,
        description = "SendTargets discovery before login (--no-discovery logs in directly)")
    boolean discovery;

    @Option(names = "--iqn-prefix", defaultValue = "iqn.2026-11.org.iscsicsi:",
        description = "target IQNs this driver owns; only these are garbage-collected")
    String iqnPrefix;

    @Option(names = "--max-volumes", defaultValue = "128")
    long maxVolumes;

    @Option(names = "--default-fs-type", defaultValue = "ext4")
    String defaultFsType;

    @Option(names = "--sys-root", defaultValue = "/sys")
    Path sysRoot;

    @Option(names = "--dev-root", defaultValue = "/dev")
    Path devRoot;

    @Option(names = "--proc-root", defaultValue = "/proc")
    Path procRoot;

    @Option(names = "--multipath-conf", defaultValue = "/etc/multipath.conf",
        description = "the host's multipath.conf (its conf.d drop-ins are read beside it)")
    Path multipathConf;

    @Option(names = "--multipath", defaultValue = "multipath",
        description = "multipath to run for replicated volumes; may be a wrapper into the host")
    String multipath;

    @Option(names = "--multipathd", defaultValue = "multipathd",
        description = "multipathd (as its own client) for replicated volumes; may be a wrapper")
    String multipathd;

    @Option(names = "--iscsiadm-timeout", defaultValue = "30s")
    Duration iscsiadmTimeout;

    @Option(names = "--login-timeout", defaultValue = "60s")
    Duration loginTimeout;

    @Option(names = "--device-wait-timeout", defaultValue = "30s")
    Duration deviceWait;

    @Option(names = "--command-timeout", defaultValue = "60s",
        description = "blkid, mount, umount")
    Duration commandTimeout;

    @Option(names = "--long-command-timeout", defaultValue = "30m",
        description = "mkfs, fsck, resize, UUID changes")
    Duration longCommandTimeout;

    @Option(names = "--resize-wait-timeout", defaultValue = "60s")
    Duration resizeWait;

    @Option(names = "--replacement-timeout", defaultValue = "120",
        description = "open-iscsi replacement_timeout in seconds: how long I/O is queued while"
            + " a session reconnects before errors reach the filesystem")
    int replacementTimeout;

    @Option(names = "--scsi-device-timeout", defaultValue = "0",
        description = "SCSI command timeout in seconds for the volume's disk (0: kernel default)")
    int scsiDeviceTimeout;

    @Option(names = "--gc-interval", defaultValue = "5m",
        description = "interval of orphaned-session garbage collection (0s: off)")
    Duration gcInterval;

    @Option(names = "--iscsi-dir", defaultValue = "/etc/iscsi",
        description = "open-iscsi's configuration directory as this process sees it (node and"
            + " discovery records; CHAP settings are written there, never on a command line)")
    Path iscsiDir;

    @Option(names = "--kubelet-dir", defaultValue = "/var/lib/kubelet",
        description = "kubelet's directory: staging and target paths must lie below it")
    Path kubeletDir;

    @Option(names = "--topology-keys", paramLabel = "KEY[,KEY...]",
        description = "report these labels of this node's Node object as its topology (read"
            + " once at start through the Kubernetes API) instead of <driver-name>/node")
    String topologyKeys;

    List<String> topologyKeys() {
      return topologyKeys == null ? List.of() : LabelKeys.parseList(topologyKeys);
    }

    NodePluginConfig config(String endpoint) {
      return new NodePluginConfig(endpoint, driverName, nodeName == null ? "" : nodeName,
          Main.class.getPackage().getImplementationVersion() == null ? "0.1.0-SNAPSHOT"
              : Main.class.getPackage().getImplementationVersion(),
          maxVolumes, defaultFsType, stateDir, initiatorNameFile, iscsiadm, discovery, iqnPrefix,
          sysRoot, devRoot, procRoot, multipathConf, iscsiadmTimeout, loginTimeout, deviceWait,
          commandTimeout, longCommandTimeout, resizeWait, replacementTimeout, scsiDeviceTimeout,
          gcInterval, iscsiDir, kubeletDir, topologyKeys(), multipath, multipathd);
    }
  }

  /** Runs the CSI server until killed. */
  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = "serve the CSI Identity and Node services")
  static final class Serve extends Options implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoint", required = true,
        description = "unix:///path/csi.sock or tcp://host:port")
    String endpoint;

    @Option(names = "--kubelet-registration-dir", paramLabel = "DIR",
        description = "register with kubelet through its plugin registration protocol: a "
            + "socket in DIR (kubelet's plugins_registry), instead of node-driver-registrar")
    Path registrationDir;

    @Option(names = "--kubelet-registration-path", paramLabel = "PATH",
        description = "the CSI socket as kubelet sees it (default: the --endpoint socket)")
    Path registrationPath;

    @Override
    public Integer call() throws Exception {
      if (nodeName == null || nodeName.isBlank()) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--node-name (or $NODE_NAME) is required");
      }
      NodePluginConfig config;
      try {
        config = config(endpoint);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--topology-keys: " + e.getMessage(), e);
      }
      KubeletRegistration registration = null;
      if (registrationDir != null) {
        Path csiSocket = registrationPath;
        if (csiSocket == null) {
          if (!(Endpoint.parse(endpoint) instanceof Endpoint.Unix u)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--kubelet-registration-dir: kubelet needs a unix:// --endpoint (or give "
                    + "--kubelet-registration-path)");
          }
          csiSocket = u.path();
        }
        try {
          registration = new KubeletRegistration(config.driverName(), csiSocket);
        } catch (IllegalArgumentException e) {
          throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
      }
      NodePlugin plugin = NodePlugin.start(config);
      // registered only once the CSI socket serves: kubelet calls NodeGetInfo right away
      KubeletRegistration registered = registration == null ? null
          : registration.serve(registrationDir);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          if (registered != null) {
            registered.close();
          }
          plugin.close();
        } catch (Exception e) {
          System.err.println("shutdown: " + e);
        }
      }));
      plugin.awaitTermination();
      return 0;
    }
  }

  /** Checks the host and prints what to fix; exit 1 when something is wrong. */
  @Command(name = "preflight", mixinStandardHelpOptions = true,
      description = "check that this host can run the node plugin")
  static final class PreflightCmd extends Options implements Callable<Integer> {
    @Override
    public Integer call() {
      var problems = NodePlugin.preflight(config("unix:///unused")).run();
      problems.forEach(p -> System.out.println("PROBLEM " + p));
      if (problems.isEmpty()) {
        System.out.println("OK: this host can run the node plugin");
      }
      return problems.isEmpty() ? 0 : 1;
    }
  }
}
