package org.iscsicsi.node.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The guest of the node-plugin VM tier: {@code bin/node-plugin serve} (the repository's, over 9p)
 * in the background on TCP {@value #CSI_PORT}, and a loop that runs the shell files the host drops
 * into the control directory ({@code /ctl/cmd.N}, output in {@code /ctl/out.N}, exit code in
 * {@code /ctl/rc.N}), so a test drives the node plugin over gRPC like kubelet and looks into the
 * guest (sessions, mounts, files) between calls. {@link #stop()} ends the plugin and the VM.
 *
 * <p>Used by the node plugin's VM ITs and by e2e's cluster test (through this module's test jar).
 */
public final class NodePluginGuest {

  /** The guest port the node plugin's CSI server listens on (forward a host port to it). */
  public static final int CSI_PORT = 50051;

  /** The console line that says the plugin serves. */
  public static final String LISTENING = "CSI server listening";

  private static final Pattern NODE_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  /** Extra plugin options: {@code --name=value} with a value free of shell syntax. */
  private static final Pattern OPTION = Pattern.compile("--[a-z][-a-z]*(=[A-Za-z0-9_./:-]+)?");

  private final QemuVm vm;
  private int seq;

  public NodePluginGuest(QemuVm vm) {
    this.vm = vm;
  }

  /** The guest script for {@link QemuVm.Builder#script}: the plugin as node {@code nodeName}. */
  public static String script(String nodeName) {
    return script(nodeName, new String[0]);
  }

  /**
   * The same with extra plugin options ({@code --name=value}, e.g. {@code --kubelet-dir=DIR}).
   *
   * @throws IllegalArgumentException for a node name or option that would be shell syntax
   */
  public static String script(String nodeName, String... options) {
    if (!NODE_NAME.matcher(nodeName).matches()) {
      throw new IllegalArgumentException("not a node name: " + nodeName);
    }
    StringBuilder extra = new StringBuilder();
    for (String o : options) {
      if (!OPTION.matcher(o).matches()) {
        throw new IllegalArgumentException("not a plain --name=value option: " + o);
      }
      extra.append(" ").append(o);
    }
    return """
        mkdir -p /var/lib/kubelet
        # C1 only: the guest CPU is emulated, so JIT work dominates start-up.
        export NODE_PLUGIN_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
        /repo/node-plugin/bin/node-plugin serve --endpoint tcp://0.0.0.0:%d --node-name %s \\
          --state-dir /var/lib/iscsi-csi/state --gc-interval 0s --device-wait-timeout 30s \\
          --iscsiadm-timeout 20s --login-timeout 10s%s &
        PLUGIN=$!
        i=0
        while [ ! -e /ctl/stop ]; do
          if [ -e /ctl/cmd.$i ]; then
            sh /ctl/cmd.$i > /ctl/out.$i.tmp 2>&1; echo $? > /ctl/rc.$i.tmp
            mv /ctl/out.$i.tmp /ctl/out.$i; mv /ctl/rc.$i.tmp /ctl/rc.$i
            i=$((i + 1))
          fi
          sleep 0.1
        done
        kill $PLUGIN; wait $PLUGIN
        echo "PLUGIN_EXIT=$?"
        exit 0
        """.formatted(CSI_PORT, nodeName, extra);
  }

  /** What a guest command printed (stdout and stderr) and its exit code. */
  public record Result(int exit, String out) {}

  /**
   * Runs {@code command} with /bin/sh in the guest and waits for it.
   *
   * @throws IllegalStateException if it does not finish in {@code timeout} or the VM ends
   */
  public synchronized Result run(String command, Duration timeout)
      throws IOException, InterruptedException {
    int n = seq++;
    Path ctl = vm.controlDir();
    Files.writeString(ctl.resolve("cmd." + n + ".tmp"), command + "\n");
    Files.move(ctl.resolve("cmd." + n + ".tmp"), ctl.resolve("cmd." + n));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.exists(ctl.resolve("rc." + n))) {
      if (System.nanoTime() > deadline || !vm.isRunning()) {
        throw new IllegalStateException("the guest did not run '" + command + "' within "
            + timeout + "; console:\n" + vm.console());
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    return new Result(Integer.parseInt(Files.readString(ctl.resolve("rc." + n)).strip()),
        Files.readString(ctl.resolve("out." + n)));
  }

  /** Asks the guest loop to end: the plugin gets SIGTERM and the VM powers off. */
  public void stop() throws IOException {
    Files.writeString(vm.controlDir().resolve("stop"), "");
  }
}
