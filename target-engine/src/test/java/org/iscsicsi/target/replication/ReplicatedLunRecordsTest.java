package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The records an engine reopens its replicated LUNs from: a saved request reads back as saved
 * (a later save of the volume replaces it), and a damaged record fails the load with its path,
 * so the engine refuses to start instead of serving that LUN without its replicas.
 */
class ReplicatedLunRecordsTest {

  @TempDir Path dir;

  @Test
  void savedRequestsReadBackAndASaveReplacesTheVolumesRecord() throws IOException {
    ReplicatedLunRecords records = new ReplicatedLunRecords(dir.resolve("replication"));
    assertThat(records.load()).isEmpty();
    SetLunReplicationRequest first = SetLunReplicationRequest.newBuilder()
        .setTarget("iqn.2026-11.org.iscsicsi:pool.v1").setLun(0).setVolume("pool.v1").build();
    records.save(first);
    SetLunReplicationRequest second = first.toBuilder().setLun(1).build();
    records.save(second);
    assertThat(records.load()).containsExactly(second);
  }

  @Test
  void aDamagedRecordFailsTheLoadWithItsPath() throws IOException {
    ReplicatedLunRecords records = new ReplicatedLunRecords(dir);
    Path bad = dir.resolve("pool.v2" + ReplicatedLunRecords.SUFFIX);
    Files.write(bad, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
    assertThatThrownBy(records::load).isInstanceOf(IOException.class)
        .hasMessageContaining(bad.toString()).hasMessageContaining("does not start");
  }
}
