/**
 * The iSCSI portal: {@link org.iscsicsi.target.server.IscsiServer} binds a netty server (epoll
 * when available, NIO otherwise) and builds each connection's pipeline.
 */
package org.iscsicsi.target.server;
