package org.iscsicsi.node.iscsi;

/**
 * One line of {@code iscsiadm -m node} or of a SendTargets discovery: portal, portal group tag
 * (-1 when the line has none) and target name.
 */
public record NodeRecord(Portal portal, int tpgt, String targetIqn) {}
