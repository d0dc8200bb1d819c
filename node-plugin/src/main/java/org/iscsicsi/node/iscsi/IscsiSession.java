package org.iscsicsi.node.iscsi;

/**
 * One line of {@code iscsiadm -m session}: session id, transport, portal, target portal group tag
 * and target name.
 */
public record IscsiSession(int sid, String transport, Portal portal, int tpgt, String targetIqn) {}
