package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.kube.PoolFixture.NAMESPACE;
import static org.iscsicsi.controller.kube.PoolFixture.await;
import static org.iscsicsi.controller.kube.PoolFixture.holds;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.PoolMember;
import org.iscsicsi.controller.engine.Reachability;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pool mode's discovery against fabric8's mock API server in CRUD mode: IscsiEngine objects and
 * Leases written by the test as the engines would write them (PoolFixture), the engines' admin
 * APIs in-process stand-ins (StandInEngine), the directory fed by the real informers and probed
 * by the real probe loop (faster than the 2 s default, so the tests take seconds).
 */
@EnableKubernetesMockClient(crud = true)
class EngineInformerTest {

  static final Duration LEASE = Duration.ofSeconds(2);
  static final Duration WAIT = Duration.ofSeconds(20);
  static final Duration PROBE_INTERVAL = Duration.ofMillis(200);
  static final Duration RECHECK = Duration.ofMillis(300);

  static KubernetesClient client;
  static KubernetesMockServer server;

  /** The mock server logs every request at INFO (hundreds of Lease renewals here). */
  static final java.util.logging.Logger MOCK_LOG = PoolFixture.MOCK_LOG;

  static {
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  PoolFixture pool;
  EngineDirectory directory;
  EngineInformer informer;
  EngineHealth health;
  EngineStatusWriter writer;
  final List<StandInEngine> engines = new ArrayList<>();
  /** The Leases renewed every 500 ms, as the running engines would. */
  PoolFixture.Renewals leases;

  @BeforeEach
  void start() {
    pool = new PoolFixture(server, client);
    directory = new EngineDirectory(StandInEngine.CHANNELS, Duration.ofSeconds(5),
        Clock.systemUTC());
    health = EngineHealth.start(directory, PROBE_INTERVAL, Duration.ofMillis(500));
    informer = EngineInformer.start(client, NAMESPACE, directory);
    writer = startWriter();
    leases = pool.renewEvery(Duration.ofMillis(500), LEASE);
  }

  @AfterEach
  void stop() throws InterruptedException {
    leases.close();
    writer.close();
    informer.close();
    health.close();
    directory.close();
    for (StandInEngine e : engines) {
      e.close();
    }
    pool.deleteAll();
  }

  private StandInEngine engine(String name, String incarnation) throws Exception {
    StandInEngine e = new StandInEngine(name, incarnation).start();
    engines.add(e);
    pool.register(name, e.address(), incarnation);
    leases.keep(name, incarnation);
    return e;
  }

  private EngineStatusWriter startWriter() {
    return EngineStatusWriter.start(client, directory, informer,
        new EventRecorder(client, "controller-0"), () -> true, RECHECK);
  }

  private EngineState state(String name) {
    return directory.byName(name).map(Engine::state).orElse(null);
  }

  private Reachability reach(String name) {
    return directory.member(name).map(PoolMember::reachability).orElse(null);
  }

  /**
   * An engine whose object and fresh Lease appear joins while the directory runs (no restart,
   * no flag): Ready once its admin API answered, with the report's portals and topology; a
   * second engine joins the same way; the directory is in pool mode.
   */
  @Test
  void enginesJoinWithoutRestart() throws Exception {
    assertThat(directory.pooled()).isTrue();
    assertThat(directory.all()).isEmpty();
    engine("node-a", "inc-a1");
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to be Ready");
    Engine a = directory.byName("node-a").orElseThrow();
    assertThat(a.advertisedPortals()).containsExactly("192.0.2.1:3260");
    assertThat(a.topology()).containsEntry("topology.kubernetes.io/zone", "a");
    assertThat(directory.member("node-a").orElseThrow().incarnation()).isEqualTo("inc-a1");

    engine("node-b", "inc-b1");
    await(() -> state("node-b") == EngineState.READY, WAIT, "node-b to be Ready");
    assertThat(directory.schedulable()).extracting(Engine::name)
        .containsExactly("node-a", "node-b");
    assertThat(directory.byName("node-a").orElseThrow().client().info().getVersion())
        .isEqualTo("stand-in");
  }

  /**
   * A Lease that is not renewed makes its engine Unreachable only after the Lease's duration
   * (while its admin API still answers); renewing it again brings the engine back to Ready after
   * a fresh answer.
   */
  @Test
  void unreachableAfterTheLeaseDurationAndBackOnRenewal() throws Exception {
    engine("node-a", "inc-a1");
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to be Ready");
    holds(() -> state("node-a") == EngineState.READY, LEASE.multipliedBy(2),
        "node-a Ready: renewed within its duration");

    leases.stop("node-a");
    long stopped = System.nanoTime();
    await(() -> state("node-a") == EngineState.UNREACHABLE, WAIT, "the Lease to expire");
    Duration took = Duration.ofNanos(System.nanoTime() - stopped);
    assertThat(took).isGreaterThanOrEqualTo(LEASE.minusMillis(600))
        .isLessThan(LEASE.plus(Duration.ofSeconds(2)));
    assertThat(reach("node-a")).isEqualTo(Reachability.LEASE_EXPIRED);
    assertThat(directory.byName("node-a").orElseThrow().status().message())
        .contains("iscsi-engine-node-a not renewed since");
    assertThat(directory.schedulable()).isEmpty();

    leases.keep("node-a", "inc-a1");
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to be Ready again");
  }

  /**
   * An engine whose Lease stays fresh but whose admin API stops answering (killed, or cut off
   * from the controller only) is Unreachable after 3 failed probes in a row, with the last
   * error; once it answers again it is Ready.
   */
  @Test
  void unreachableAfterThreeFailedProbes() throws Exception {
    StandInEngine a = engine("node-a", "inc-a1");
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to be Ready");
    a.stop();
    await(() -> state("node-a") == EngineState.UNREACHABLE, WAIT, "probes to fail");
    assertThat(reach("node-a")).isEqualTo(Reachability.PROBES_FAILING);
    assertThat(directory.byName("node-a").orElseThrow().status().message())
        .startsWith("3 probes in a row failed: UNAVAILABLE");
    a.start();
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to answer again");
  }

  /**
   * A Lease with a new incarnation is a restart: the engine is not usable until the new
   * incarnation answered, then Ready again; an admin API that answers as another incarnation
   * does not make it Ready, and one that answers as another engine marks it Unreachable.
   */
  @Test
  void aNewIncarnationIsARestart() throws Exception {
    StandInEngine a = engine("node-a", "inc-a1");
    await(() -> state("node-a") == EngineState.READY, WAIT, "node-a to be Ready");

    a.answerAs("node-a", "inc-a1"); // still the old process answering
    leases.keep("node-a", "inc-a2");
    await(() -> reach("node-a") != Reachability.ANSWERING, WAIT, "the restart to be seen");
    assertThat(state("node-a")).isEqualTo(EngineState.UNREACHABLE);
    holds(() -> state("node-a") == EngineState.UNREACHABLE, PROBE_INTERVAL.multipliedBy(2),
        "node-a Unreachable while the old incarnation answers");

    a.answerAs("node-a", "inc-a2");
    await(() -> state("node-a") == EngineState.READY, WAIT, "the new incarnation to answer");
    assertThat(directory.member("node-a").orElseThrow().incarnation()).isEqualTo("inc-a2");

    a.answerAs("node-z", "inc-a2");
    await(() -> reach("node-a") == Reachability.WRONG_ENGINE, WAIT, "the wrong engine seen");
    assertThat(state("node-a")).isEqualTo(EngineState.UNREACHABLE);
    assertThat(directory.byName("node-a").orElseThrow().status().message())
        .contains("answers as engine node-z");
  }

  /**
   * The operator's spec: {@code unschedulable} cordons (not schedulable, still reachable),
   * {@code drain} drains, clearing both makes the engine Ready again.
   */
  @Test
  void cordonAndDrainFromSpec() throws Exception {
    engine("node-a", "inc-a1");
    engine("node-b", "inc-b1");
    await(() -> state("node-a") == EngineState.READY && state("node-b") == EngineState.READY,
        WAIT, "both Ready");
    pool.setSpec("node-a", "unschedulable", true);
    await(() -> state("node-a") == EngineState.CORDONED, WAIT, "node-a cordoned");
    assertThat(directory.byName("node-a").orElseThrow().state().reachable()).isTrue();
    assertThat(directory.schedulable()).extracting(Engine::name).containsExactly("node-b");

    pool.setSpec("node-b", "drain", true);
    await(() -> state("node-b") == EngineState.DRAINING, WAIT, "node-b draining");
    assertThat(directory.schedulable()).isEmpty();

    pool.setSpec("node-a", "unschedulable", false);
    pool.setSpec("node-b", "drain", false);
    await(() -> directory.schedulable().size() == 2, WAIT, "both schedulable again");
  }

  /**
   * Deleting an IscsiEngine held by a finalizer makes the engine Removing (not schedulable);
   * once the object is gone, so is the engine; a Lease without an object adds no engine.
   */
  @Test
  void removal() throws Exception {
    engine("node-a", "inc-a1");
    engine("node-b", "inc-b1");
    await(() -> state("node-a") == EngineState.READY && state("node-b") == EngineState.READY,
        WAIT, "both Ready");
    pool.addFinalizer("node-a", "iscsi.csi.iscsicsi.org/engine-volumes");
    pool.delete("node-a");
    await(() -> state("node-a") == EngineState.REMOVING, WAIT, "node-a removing");
    assertThat(directory.schedulable()).extracting(Engine::name).containsExactly("node-b");

    pool.delete("node-b");
    await(() -> directory.byName("node-b").isEmpty(), WAIT, "node-b gone");
    leases.keep("node-c", "inc-c1");
    holds(() -> directory.byName("node-c").isEmpty(), Duration.ofMillis(500),
        "a Lease without its IscsiEngine makes no engine");
    assertThat(directory.all()).extracting(Engine::name).containsExactly("node-a");
    assertThat(pool.get("node-a").getMetadata().getDeletionTimestamp()).isNotNull();
    pool.removeFinalizers("node-a");
    await(() -> directory.all().isEmpty(), WAIT, "node-a gone after its finalizer");
  }

  /**
   * The leader writes {@code status.state} and the Reachable condition once per transition and
   * one event per change of reachability: none for the join, EngineUnreachable with the last
   * error when the Lease expires, EngineReachable when it is back; a cordon changes the state
   * only; rechecks and a second writer (a new leader) write and announce nothing again; a
   * condition of another type is kept.
   */
  @Test
  void statusAndEventsOncePerTransition() throws Exception {
    engine("node-a", "inc-a1");
    await(() -> "Ready".equals(statusState("node-a")), WAIT, "status.state Ready");
    assertThat(reachable("node-a")).as(pool.get("node-a").toString())
        .containsEntry("status", "True")
        .containsEntry("reason", "Answering");
    assertThat(events("node-a")).isEmpty();
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName("node-a")
        .subresource("status").patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON),
            "[{\"op\":\"add\",\"path\":\"/status/conditions/-\",\"value\":"
                + "{\"type\":\"Drained\",\"status\":\"False\"}}]");

    leases.stop("node-a");
    await(() -> "Unreachable".equals(statusState("node-a")), WAIT, "status.state Unreachable");
    assertThat(reachable("node-a")).as(pool.get("node-a").toString())
        .containsEntry("status", "False")
        .containsEntry("reason", "LeaseExpired");
    assertThat((String) reachable("node-a").get("message"))
        .contains("iscsi-engine-node-a not renewed since");
    assertThat(conditionTypes("node-a")).containsExactlyInAnyOrder("Drained", "Reachable");
    await(() -> events("node-a").size() == 1, WAIT, "one event");
    var unreachable = events("node-a").getFirst();
    assertThat(unreachable.getReason()).isEqualTo(EngineStatusWriter.UNREACHABLE_EVENT);
    assertThat(unreachable.getType()).isEqualTo("Warning");
    assertThat(unreachable.getMessage()).contains("engine node-a unreachable: Lease");
    assertThat(unreachable.getInvolvedObject().getKind()).isEqualTo("IscsiEngine");
    assertThat(unreachable.getInvolvedObject().getUid())
        .isEqualTo(pool.get("node-a").getMetadata().getUid());

    try (EngineStatusWriter newLeader = startWriter()) {
      holds(() -> events("node-a").size() == 1, RECHECK.multipliedBy(5),
          "a new leader repeats no event");
    }

    leases.keep("node-a", "inc-a1");
    await(() -> "Ready".equals(statusState("node-a")), WAIT, "status.state Ready again");
    await(() -> events("node-a").size() == 2, WAIT, "a second event");
    assertThat(events("node-a")).extracting(e -> e.getReason())
        .containsExactlyInAnyOrder(EngineStatusWriter.UNREACHABLE_EVENT,
            EngineStatusWriter.REACHABLE_EVENT);

    pool.setSpec("node-a", "unschedulable", true);
    await(() -> "Cordoned".equals(statusState("node-a")), WAIT, "status.state Cordoned");
    holds(() -> events("node-a").size() == 2, RECHECK.multipliedBy(5),
        "cordoning makes no reachability event");
    assertThat(reachable("node-a")).containsEntry("status", "True");
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> status(String name) {
    Object s = pool.get(name).getAdditionalProperties().get("status");
    return s instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  private String statusState(String name) {
    return (String) status(name).get("state");
  }

  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> conditions(String name) {
    Object c = status(name).get("conditions");
    return c instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
  }

  private List<Object> conditionTypes(String name) {
    return conditions(name).stream().map(c -> c.get("type")).toList();
  }

  private Map<String, Object> reachable(String name) {
    return conditions(name).stream().filter(c -> "Reachable".equals(c.get("type")))
        .findFirst().orElse(Map.of());
  }

  private List<io.fabric8.kubernetes.api.model.Event> events(String name) {
    return client.v1().events().inNamespace(EventRecorder.CLUSTER_SCOPED_NAMESPACE).list()
        .getItems().stream()
        .filter(e -> name.equals(e.getInvolvedObject().getName())).toList();
  }
}
