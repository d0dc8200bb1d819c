package org.iscsicsi.target.acl;

/** What a target's ACL grants one initiator. NONE: no login, and invisible in discovery. */
public enum AccessLevel { NONE, READ_ONLY, READ_WRITE }
