package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/**
 * The Kubernetes names of the cluster-scoped {@code IscsiVolume} kind that replicated volumes
 * share between engines and the controller (docs/replication.md, section 5): the membership
 * lives in {@code status.replication}, {@code spec.replicas} holds the StorageClass value, and
 * every member engine's label {@code member.iscsi.csi.iscsicsi.org/<engine>: ""} lets engines
 * watch only their volumes.
 */
public final class IscsiVolumes {

  public static final String KIND = "IscsiVolume";
  public static final String PLURAL = "iscsivolumes";

  public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup(IscsiEngines.GROUP).withVersion(IscsiEngines.VERSION).withKind(KIND)
      .withPlural(PLURAL).withNamespaced(false).build();

  /** The prefix of the member labels: {@code member.iscsi.csi.iscsicsi.org/<engine>}. */
  public static final String MEMBER_LABEL_PREFIX = "member." + IscsiEngines.GROUP + "/";

  private IscsiVolumes() {
  }

  /** The label every volume that has {@code engine} as a member carries. */
  public static String memberLabel(String engine) {
    return MEMBER_LABEL_PREFIX + engine;
  }
}
