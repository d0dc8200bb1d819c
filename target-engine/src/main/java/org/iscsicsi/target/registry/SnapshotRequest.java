package org.iscsicsi.target.registry;

import java.util.Map;

/** A snapshot to take: its id and labels, and the LUN it copies. */
public record SnapshotRequest(String id, String target, int lun, Map<String, String> labels) {}
