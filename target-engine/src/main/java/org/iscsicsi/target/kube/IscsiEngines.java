package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/**
 * The Kubernetes names pool mode shares between engines and the controller (docs/pools.md,
 * section 2): the cluster-scoped {@code IscsiEngine} kind, the storage-node label and the engine
 * Leases.
 */
public final class IscsiEngines {

  public static final String GROUP = "iscsi.csi.iscsicsi.org";
  public static final String VERSION = "v1alpha1";
  public static final String KIND = "IscsiEngine";
  public static final String PLURAL = "iscsiengines";

  public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup(GROUP).withVersion(VERSION).withKind(KIND).withPlural(PLURAL)
      .withNamespaced(false).build();

  /** The Node label that makes a node a storage node; its value must be {@code "true"}. */
  public static final String STORAGE_NODE_LABEL = GROUP + "/storage-node";

  /** The engine Leases are named {@code iscsi-engine-<engine>}. */
  public static final String LEASE_PREFIX = "iscsi-engine-";

  private IscsiEngines() {
  }

  public static String leaseName(String engine) {
    return LEASE_PREFIX + engine;
  }

  /** The Lease's holderIdentity: {@code <engine>/<incarnation>}. */
  public static String holder(String engine, String incarnation) {
    return engine + "/" + incarnation;
  }
}
