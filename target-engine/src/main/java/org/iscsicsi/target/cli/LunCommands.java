package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import java.util.List;
import org.iscsicsi.target.admin.AluaMessages;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.DeleteLunRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.SetAluaStatesRequest;
import org.iscsicsi.target.v1.SetLunQosRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lun create|resize|delete}. */
@Command(name = "lun", description = "Create, grow and delete LUNs.",
    subcommands = {LunCommands.Create.class, LunCommands.Resize.class, LunCommands.Qos.class,
        LunCommands.Alua.class, LunCommands.Delete.class})
final class LunCommands {

  @Command(name = "create", description = "Create a LUN backed by a new file.")
  static final class Create extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Option(names = "--lun", required = true, paramLabel = "N")
    int lun;

    @Option(names = "--size", required = true, paramLabel = "SIZE",
        description = "Bytes, with an optional K, M, G or T suffix (powers of 1024).")
    String size;

    @Option(names = "--thick", description = "Preallocate the file instead of a sparse one.")
    boolean thick;

    @Option(names = "--backend", paramLabel = "NAME",
        description = "The backend the LUN's bytes come from (default: the engine's first).")
    String backend = "";

    @Option(names = "--read-only")
    boolean readOnly;

    @Option(names = "--block-size", paramLabel = "N", description = "512 or 4096.")
    int blockSize;

    @ArgGroup(exclusive = true)
    Source source;

    @Mixin
    QosOptions qos;

    @Option(names = "--port-slot", paramLabel = "N",
        description = "ALUA port slot, 1-65535: implicit ALUA, this engine's target port group "
            + "and relative target port (active/optimized until `lun alua`). Default: no ALUA.")
    int portSlot;

    @ArgGroup(exclusive = false)
    Identity identity;

    /** The NAA and serial of a LUN that another engine exports too (one identity, two ports). */
    static final class Identity {
      @Option(names = "--naa", required = true, paramLabel = "HEX",
          description = "Reuse this NAA (32 hex digits) instead of a new one; needs --serial.")
      String naa;

      @Option(names = "--serial", required = true, paramLabel = "SERIAL",
          description = "Reuse this unit serial number; needs --naa.")
      String serial;
    }

    static final class Source {
      @Option(names = "--from-snapshot", paramLabel = "ID", description = "Copy a snapshot.")
      String snapshot;

      @Option(names = "--clone-of", paramLabel = "IQN/LUN", description = "Copy another LUN.")
      String cloneOf;
    }

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      var b = CreateLunRequest.newBuilder().setTarget(target).setLun(lun)
          .setSizeBytes(Sizes.parse(size)).setThick(thick).setReadOnly(readOnly)
          .setBackend(backend)
          .setBlockSize(blockSize).setQos(qos.toProto()).setPortSlot(portSlot);
      if (identity != null) {
        b.setIdentity(org.iscsicsi.target.v1.LunIdentity.newBuilder().setNaa(identity.naa)
            .setSerial(identity.serial));
      }
      if (source != null && source.snapshot != null) {
        b.setSnapshotId(source.snapshot);
      } else if (source != null && source.cloneOf != null) {
        b.setCloneOf(lunRef(source.cloneOf));
      }
      print(out, admin.createLun(b.build()));
    }
  }

  @Command(name = "resize", description = "Grow a LUN online.")
  static final class Resize extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Option(names = "--lun", required = true, paramLabel = "N")
    int lun;

    @Option(names = "--size", required = true, paramLabel = "SIZE")
    String size;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      print(out, admin.resizeLun(ResizeLunRequest.newBuilder().setTarget(target).setLun(lun)
          .setSizeBytes(Sizes.parse(size)).build()));
    }
  }

  @Command(name = "qos", description = "Set a LUN's I/O limits, live (figures left out: no "
      + "limit).")
  static final class Qos extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Option(names = "--lun", required = true, paramLabel = "N")
    int lun;

    @Mixin
    QosOptions qos;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      print(out, admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(target).setLun(lun)
          .setQos(qos.toProto()).build()));
    }
  }

  @Command(name = "alua", description = "Set the ALUA access states of a LUN's port groups "
      + "(live; initiators get ASYMMETRIC ACCESS STATE CHANGED).")
  static final class Alua extends ClientCommand {
    @Parameters(index = "0", paramLabel = "IQN")
    String target;

    @Option(names = "--lun", required = true, paramLabel = "N")
    int lun;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "SLOT=STATE",
        description = "Each port group's state, the LUN's own slot included: active-optimized, "
            + "active-non-optimized, standby, unavailable or transitioning.")
    List<String> states;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      var b = SetAluaStatesRequest.newBuilder().setTarget(target).setLun(lun);
      for (String s : states) {
        int eq = s.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("'" + s + "' is not SLOT=STATE");
        }
        int slot;
        try {
          slot = Integer.parseInt(s.substring(0, eq).strip());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("'" + s + "': the slot is not a number");
        }
        b.putStates(slot, AluaMessages.toProto(AccessState.parse(s.substring(eq + 1))));
      }
      print(out, admin.setAluaStates(b.build()));
    }
  }

  @Command(name = "delete", description = "Delete a LUN and its file.")
  static final class Delete extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String target;

    @Option(names = "--lun", required = true, paramLabel = "N")
    int lun;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.deleteLun(DeleteLunRequest.newBuilder().setTarget(target).setLun(lun).build());
      out.println("deleted LUN " + lun + " of " + target);
    }
  }

  static void print(PrintWriter out, Lun l) {
    out.println("LUN " + l.getLun() + " of " + l.getTarget() + ": " + Sizes.format(l.getSizeBytes())
        + ", " + l.getBlockSize() + "-byte blocks, " + (l.getThin() ? "thin" : "thick")
        + (l.getReadOnly() ? ", read-only" : "") + ", serial " + l.getSerial() + ", naa "
        + l.getNaa() + ", " + QosOptions.describe(l.getQos()) + alua(l));
  }

  /** ", port slot 2, ALUA 1=standby 2=active-optimized", or nothing without a slot. */
  static String alua(Lun l) {
    if (l.getPortSlot() == 0) {
      return "";
    }
    StringBuilder sb = new StringBuilder(", port slot " + l.getPortSlot() + ", ALUA");
    new java.util.TreeMap<>(l.getAluaStatesMap()).forEach((slot, state) -> sb.append(' ')
        .append(slot).append('=').append(AluaMessages.fromProto(state).label()));
    return sb.toString();
  }

  /** Parses IQN/LUN (the LUN number after the last slash). */
  static LunRef lunRef(String s) {
    int slash = s.lastIndexOf('/');
    if (slash <= 0) {
      throw new IllegalArgumentException("'" + s + "' is not IQN/LUN");
    }
    try {
      return LunRef.newBuilder().setTarget(s.substring(0, slash))
          .setLun(Integer.parseInt(s.substring(slash + 1))).build();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + s + "' is not IQN/LUN");
    }
  }

  private LunCommands() {
  }
}
