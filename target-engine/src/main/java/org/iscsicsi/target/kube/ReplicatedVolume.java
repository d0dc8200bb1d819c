package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.kube.Membership.Member;
import org.iscsicsi.target.kube.Membership.OutSince;
import org.iscsicsi.target.kube.Membership.Phase;
import org.iscsicsi.target.kube.Membership.Promotion;
import org.iscsicsi.target.kube.Membership.Rebuild;
import org.iscsicsi.target.kube.Membership.State;

/**
 * An IscsiVolume as the replication reads it: its name (the volume id), the resourceVersion a
 * compare-and-swap must name, {@code spec.replicas} and the membership of
 * {@code status.replication}; and the mapping between the membership and the object's JSON.
 */
public record ReplicatedVolume(String name, String resourceVersion, int replicas,
    Membership membership) {

  static final String REPLICATION = "replication";

  /** The volume an object describes, if it has a membership. */
  public static Optional<ReplicatedVolume> of(GenericKubernetesResource r) {
    Map<String, Object> status = map(r.getAdditionalProperties().get("status"));
    Map<String, Object> spec = map(r.getAdditionalProperties().get("spec"));
    if (status == null || map(status.get(REPLICATION)) == null) {
      return Optional.empty();
    }
    int replicas = spec != null && spec.get("replicas") instanceof Number n ? n.intValue() : 0;
    return Optional.of(new ReplicatedVolume(r.getMetadata().getName(),
        r.getMetadata().getResourceVersion(), replicas,
        decode(map(status.get(REPLICATION)))));
  }

  /**
   * Writes {@code m} into {@code r}: {@code status.replication}, {@code spec.replicas}, and the
   * member labels (one per entry, Removed ones included until deleted: a Removed engine finds
   * the volume to delete its copy); other fields of the object stay.
   */
  static void write(GenericKubernetesResource r, int replicas, Membership m) {
    Map<String, Object> spec = writable(r, "spec");
    spec.put("replicas", replicas);
    writable(r, "status").put(REPLICATION, encode(m));
    Map<String, String> labels = r.getMetadata().getLabels() == null ? new LinkedHashMap<>()
        : new LinkedHashMap<>(r.getMetadata().getLabels());
    labels.keySet().removeIf(k -> k.startsWith(IscsiVolumes.MEMBER_LABEL_PREFIX));
    for (Member x : m.members()) {
      labels.put(IscsiVolumes.memberLabel(x.engine()), "");
    }
    r.getMetadata().setLabels(labels);
  }

  static Map<String, Object> encode(Membership m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("epoch", m.epoch());
    out.put("primary", m.primary());
    out.put("generation", m.generation());
    out.put("phase", m.phase().name());
    out.put("summary", m.summary());
    m.members().stream().filter(x -> x.rebuild() != null && x.rebuild().totalBytes() > 0)
        .findFirst().ifPresent(x -> out.put("rebuild",
            (100 * x.rebuild().doneBytes() / x.rebuild().totalBytes()) + "%"));
    if (m.promotion() != null) {
      Promotion p = m.promotion();
      out.put("promotion", ordered("from", p.from(), "to", p.to(), "startedAt", p.startedAt(),
          "decidedBy", p.decidedBy()));
    }
    List<Object> members = new ArrayList<>();
    for (Member x : m.members()) {
      Map<String, Object> e = ordered("engine", x.engine(), "slot", x.slot(),
          "state", x.state().name(), "since", x.since());
      if (x.outSince() != null) {
        e.put("outSince", ordered("epoch", x.outSince().epoch(),
            "generation", x.outSince().generation()));
      }
      if (x.reason() != null) {
        e.put("reason", x.reason());
      }
      if (x.rebuild() != null) {
        Rebuild b = x.rebuild();
        e.put("rebuild", ordered("method", b.method(), "doneBytes", b.doneBytes(),
            "totalBytes", b.totalBytes(), "startedAt", b.startedAt()));
      }
      members.add(e);
    }
    out.put("members", members);
    return out;
  }

  static Membership decode(Map<String, Object> in) {
    Map<String, Object> p = map(in.get("promotion"));
    Promotion promotion = p == null ? null : new Promotion(text(p, "from"), text(p, "to"),
        text(p, "startedAt"), text(p, "decidedBy"));
    List<Member> members = new ArrayList<>();
    if (in.get("members") instanceof List<?> list) {
      for (Object o : list) {
        Map<String, Object> e = map(o);
        Map<String, Object> out = map(e.get("outSince"));
        Map<String, Object> b = map(e.get("rebuild"));
        members.add(new Member(text(e, "engine"), (int) number(e, "slot"),
            State.valueOf(text(e, "state")), text(e, "since"),
            out == null ? null : new OutSince(number(out, "epoch"), number(out, "generation")),
            text(e, "reason"),
            b == null ? null : new Rebuild(text(b, "method"), number(b, "doneBytes"),
                number(b, "totalBytes"), text(b, "startedAt"))));
      }
    }
    return new Membership(number(in, "epoch"), text(in, "primary"), number(in, "generation"),
        Phase.valueOf(text(in, "phase")), promotion, members);
  }

  private static Map<String, Object> ordered(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      if (kv[i + 1] != null) {
        m.put((String) kv[i], kv[i + 1]);
      }
    }
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
  }

  private static Map<String, Object> writable(GenericKubernetesResource r, String key) {
    Map<String, Object> m = map(r.getAdditionalProperties().get(key));
    Map<String, Object> copy = m == null ? new LinkedHashMap<>() : new LinkedHashMap<>(m);
    r.getAdditionalProperties().put(key, copy);
    return copy;
  }

  private static String text(Map<String, Object> m, String key) {
    Object v = m.get(key);
    return v == null ? null : v.toString();
  }

  private static long number(Map<String, Object> m, String key) {
    if (m.get(key) instanceof Number n) {
      return n.longValue();
    }
    throw new IllegalArgumentException("status.replication: " + key + " is not a number: "
        + m.get(key));
  }
}
