package org.iscsicsi.target.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The initiators the benchmarks and their tests drive a LUN with, as child processes: libiscsi's
 * {@code iscsi-perf} (random reads), {@code qemu-img bench} (writes through qemu's libiscsi
 * driver) and {@code qemu-io} (single reads, for latency). None of them takes credentials.
 */
public final class IoClients {

  private IoClients() {
  }


  public static List<String> perf(String url, int depth, int blocks, int seconds) {
    return List.of("iscsi-perf", "-m", Integer.toString(depth), "-b", Integer.toString(blocks),
        "-r", "-t", Integer.toString(seconds + 5), url);
  }

  /**
   * Writes of {@code size} bytes to a LUN of {@code lunBytes} until stopped (far more requests
   * than any run takes), 7919 requests apart modulo the LUN's requests: qemu-img bench wraps the
   * offset around the image and refuses a stride beyond it, and a stride of whole requests keeps
   * every request inside it.
   */
  public static List<String> qemuWrite(String url, long lunBytes, int depth, int size) {
    long stride = size * (7919 % (lunBytes / size));
    return List.of("qemu-img", "bench", "-f", "raw", "-w", "-t", "none", "-c", "100000000",
        "-d", Integer.toString(depth), "-s", Integer.toString(size),
        "-S", Long.toString(stride), url);
  }

  public static Process start(List<String> cmd) throws Exception {
    return new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  public static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * p50 and p99 in microseconds of {@code n} 4 KiB reads, one at a time, with qemu-io's terse
   * statistics ({@code read -C}: bytes, ops, seconds, MiB/s, ops/s; latency = 1 / ops/s).
   */
  public static double[] latencies(String url, long lunBytes, int n) throws Exception {
    Process p = new ProcessBuilder("qemu-io", "-f", "raw", url).redirectErrorStream(true).start();
    StringBuilder script = new StringBuilder();
    long blocks = lunBytes / 4096;
    for (int i = 0; i < n; i++) {
      script.append("read -C ").append(i * 7919L % blocks * 4096).append(" 4k\n");
    }
    script.append("quit\n");
    try (var in = p.getOutputStream()) {
      in.write(script.toString().getBytes(StandardCharsets.US_ASCII));
    }
    List<Double> us = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.US_ASCII))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.split(",");
        if (f.length == 5) {
          double ops = Double.parseDouble(f[4].trim());
          if (ops > 0) {
            us.add(1e6 / ops);
          }
        }
      }
    }
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    if (us.isEmpty()) {
      throw new IllegalStateException("qemu-io reported no reads");
    }
    us.sort(null);
    return new double[] {us.get(us.size() / 2), us.get((int) (us.size() * 0.99))};
  }
}
