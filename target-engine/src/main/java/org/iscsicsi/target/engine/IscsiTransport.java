package org.iscsicsi.target.engine;

import java.io.IOException;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.session.SessionRegistry;

/** The running iSCSI listener, as the engine sees it. */
interface IscsiTransport extends AutoCloseable {

  /** The address really bound (port 0 resolved). */
  HostPort boundAddress();

  SessionRegistry sessions();

  @Override
  void close();

  /** Starts the listener of an engine. */
  @FunctionalInterface
  interface Factory {
    IscsiTransport start(EngineConfig config, TargetDirectory directory) throws IOException;
  }
}
