/**
 * The login phase (RFC 7143 sections 6, 12 and 13): the text key=value format, the negotiation
 * rules of every operational key, CHAP authentication and the login state machine, all free of
 * I/O so that they can be tested and fuzzed without a network.
 */
package org.iscsicsi.target.login;
