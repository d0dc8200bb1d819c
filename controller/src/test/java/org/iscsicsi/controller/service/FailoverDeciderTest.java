package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.service.FailoverDecider.Decision;
import org.iscsicsi.controller.service.FailoverDecider.Health;
import org.iscsicsi.controller.service.FailoverDecider.MemberReport;
import org.iscsicsi.controller.service.FailoverDecider.Promote;
import org.iscsicsi.controller.service.FailoverDecider.Wait;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.junit.jupiter.api.Test;

/**
 * The failover decision as a table (docs/replication.md section 8): each row is the membership
 * (replicas 3, primary a at epoch 1 unless the row changes it), the engines' health, the members'
 * reports, and the expected outcome: Promote with the engine, or Wait with a phrase of the
 * reason. It pins that a usable primary is never failed over; that a primary whose Lease expired
 * but still streams to a replica (control plane lost only) is not; that only an InSync member
 * with a usable engine that answered at the same epoch is promoted; that the candidate that
 * heard from the primary last wins, then the lower slot; and that a member never heard from
 * (-1, restarted) sorts last.
 */
class FailoverDeciderTest {

  static final Instant NOW = Instant.parse("2026-12-02T20:00:00Z");

  record Row(String name, Membership membership, Map<String, Health> health,
      Map<String, MemberReport> reports, String promote, String waitReason) {
  }

  static Membership three() {
    return MembershipTransitions.create("a", List.of("a", "b", "c"), State.InSync, 3, NOW);
  }

  static Map<String, Health> health(Health a, Health b, Health c) {
    Map<String, Health> h = new LinkedHashMap<>();
    h.put("a", a);
    h.put("b", b);
    h.put("c", c);
    return h;
  }

  static MemberReport silent(long ms) {
    return new MemberReport(1, ms);
  }

  @Test
  void table() {
    Membership m = three();
    Membership cOut = MembershipTransitions.outOfSync(m, "a", 1, "c", "link lost", NOW);
    Health ok = Health.USABLE;
    Health dead = Health.LEASE_OR_PROBES_FAILED;
    Health refused = Health.REFUSED_OR_RESTARTED;
    List<Row> rows = List.of(
        new Row("usable primary", m, health(ok, ok, ok),
            Map.of("b", silent(5000), "c", silent(5000)), null, "is usable"),
        new Row("primary health unknown", m, health(Health.UNKNOWN, ok, ok),
            Map.of("b", silent(5000), "c", silent(5000)), null, "is unknown"),
        new Row("killed primary: both silent, b heard last", m, health(refused, ok, ok),
            Map.of("b", silent(2100), "c", silent(2500)), "b", null),
        new Row("Lease expired, c heard last", m, health(dead, ok, ok),
            Map.of("b", silent(9000), "c", silent(6100)), "c", null),
        new Row("equal silence: lower slot", m, health(dead, ok, ok),
            Map.of("b", silent(3000), "c", silent(3000)), "b", null),
        new Row("control plane lost only: a member still hears the primary", m,
            health(dead, ok, ok), Map.of("b", silent(300), "c", silent(4000)), null,
            "heard from it 300 ms ago"),
        new Row("candidate's engine unusable", m, health(dead, dead, ok),
            Map.of("c", silent(4000)), "c", null),
        new Row("out-of-sync member never promoted", cOut, health(dead, Health.UNKNOWN, ok),
            Map.of("c", silent(4000)), null, "no in-sync member"),
        new Row("no member answered", m, health(dead, ok, ok), Map.of(), null,
            "no in-sync member"),
        new Row("member at another epoch does not count", m, health(dead, ok, ok),
            Map.of("b", new MemberReport(2, 100), "c", silent(4000)), "c", null),
        new Row("a restarted member (never heard) sorts last", m, health(refused, ok, ok),
            Map.of("b", silent(-1), "c", silent(2500)), "c", null),
        new Row("only a never-heard member left", m, health(refused, ok, dead),
            Map.of("b", silent(-1)), "b", null));
    for (Row r : rows) {
      Decision d = FailoverDecider.decide(r.membership(), r.health(), r.reports());
      if (r.promote() != null) {
        assertThat(d).as(r.name()).isInstanceOfSatisfying(Promote.class, p -> {
          assertThat(p.to()).as(r.name()).isEqualTo(r.promote());
          assertThat(p.epoch()).isEqualTo(r.membership().epoch());
          assertThat(p.reason()).as(r.name()).contains("primary a");
        });
      } else {
        assertThat(d).as(r.name()).isInstanceOfSatisfying(Wait.class,
            w -> assertThat(w.reason()).as(r.name()).contains(r.waitReason()));
      }
    }
  }

  @Test
  void aPromotionInProgressWhoseNewPrimaryIsUsableWaits() {
    Membership promoted = MembershipTransitions.promote(three(), "controller-1", 1, "b", NOW);
    Decision d = FailoverDecider.decide(promoted, health(Health.REFUSED_OR_RESTARTED,
        Health.USABLE, Health.USABLE), Map.of("c", new MemberReport(2, 4000)));
    assertThat(d).isInstanceOf(Wait.class);
    assertThat(d.reason()).contains("primary b is usable");
  }
}
