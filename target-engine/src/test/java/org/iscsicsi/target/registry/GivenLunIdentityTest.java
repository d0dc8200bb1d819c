package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.StateStore;
import org.iscsicsi.target.state.TargetRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LUNs that keep an identity chosen elsewhere (moves, replicas): CreateLun with a given NAA and
 * serial keeps them across a restart, refuses one already in use or malformed; a received target
 * is adopted whole from a staged image, and refused (its image left for the caller to delete)
 * when its name is taken.
 */
class GivenLunIdentityTest {

  private static final String NAA = "60a4953aabbccddeeff0011223344556";
  private static final String IQN = "iqn.2026-11.org.example:moved";

  @TempDir Path dir;
  private StateStore store;
  private TargetRegistry reg;

  @BeforeEach
  void open() throws IOException {
    store = StateStore.open(dir.resolve("state"));
    reg = TargetRegistry.open(store, dir.resolve("state/luns"), dir.resolve("state/snapshots"),
        Duration.ofMinutes(1));
  }

  @AfterEach
  void close() throws IOException {
    reg.close();
    store.close();
  }

  /** The given NAA and serial are the LUN's, also after a restart. */
  @Test
  void aGivenIdentityIsKept() throws IOException {
    reg.createTarget(IQN, "", Map.of(), Map.of());
    reg.createLun(new LunSpec(IQN, 0, 1 << 20, 512, false, false, new LunSpec.Empty(),
        new LunIdentity.Identity("SERIAL-1", NAA.toUpperCase())));
    close();
    open();
    LunRecord l = reg.getTarget(IQN).lun(0).orElseThrow();
    assertThat(l.naa()).isEqualTo(NAA);
    assertThat(l.serial()).isEqualTo("SERIAL-1");
  }

  /** An identity in use on this engine is ALREADY_EXISTS; a malformed NAA INVALID_ARGUMENT. */
  @Test
  void aTakenOrMalformedIdentityIsRefused() {
    reg.createTarget(IQN, "", Map.of(), Map.of());
    reg.createTarget(IQN + "2", "", Map.of(), Map.of());
    reg.createLun(new LunSpec(IQN, 0, 1 << 20, 512, false, false, new LunSpec.Empty(),
        new LunIdentity.Identity("SERIAL-1", NAA)));
    assertThatThrownBy(() -> reg.createLun(new LunSpec(IQN + "2", 0, 1 << 20, 512, false, false,
        new LunSpec.Empty(), new LunIdentity.Identity("SERIAL-2", NAA))))
        .isInstanceOf(RegistryException.class).hasMessageContaining("already has NAA " + NAA)
        .extracting(e -> ((RegistryException) e).reason())
        .isEqualTo(RegistryException.Reason.ALREADY_EXISTS);
    assertThatThrownBy(() -> reg.createLun(new LunSpec(IQN + "2", 0, 1 << 20, 512, false, false,
        new LunSpec.Empty(), new LunIdentity.Identity("SERIAL-2", "50a4953aabbccddeeff0011"))))
        .extracting(e -> ((RegistryException) e).reason())
        .isEqualTo(RegistryException.Reason.INVALID_ARGUMENT);
  }

  /** A staged image becomes a target with its LUN in one step; a taken name is refused. */
  @Test
  void aReceivedTargetIsAdoptedWhole() throws IOException {
    Path staged = Files.createDirectories(dir.resolve("state/luns/.incoming/t1"))
        .resolve("lun.img");
    Files.write(staged, new byte[1 << 20]);
    LunRecord lun = new LunRecord(0, staged.toString(), 1 << 20, 512, true, false, "S-9", NAA);
    TargetRecord t = new TargetRecord(IQN, "alias", 0, Map.of("k", "v"), Map.of(), List.of(),
        null, null, List.of(lun));
    reg.adoptTarget(t, staged, List.of());
    TargetRecord adopted = reg.getTarget(IQN);
    assertThat(adopted.alias()).isEqualTo("alias");
    assertThat(adopted.lun(0).orElseThrow().file()).endsWith("luns/" + NAA + ".img");
    assertThat(staged).doesNotExist();
    assertThat(reg.target(IQN)).isPresent();

    Path again = dir.resolve("state/luns/.incoming/t1/lun2.img");
    Files.write(again, new byte[1 << 20]);
    assertThatThrownBy(() -> reg.adoptTarget(t, again, List.of()))
        .hasMessageContaining("already exists on this engine");
    assertThat(again).exists();
  }
}
