package org.iscsicsi.target.engine;

import org.slf4j.LoggerFactory;

/** The iSCSI transports this build can start. */
final class Transports {

  /** Placeholder until the transport module is merged: runs the engine without a listener. */
  static final IscsiTransport.Factory DEFAULT = (config, directory) -> {
    LoggerFactory.getLogger(Transports.class).warn(
        "this build has no iSCSI transport; serving the admin API only");
    return null;
  };

  private Transports() {
  }
}
