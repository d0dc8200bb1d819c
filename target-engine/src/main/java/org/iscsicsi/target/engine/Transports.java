package org.iscsicsi.target.engine;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.server.IscsiServer;
import org.iscsicsi.target.server.IscsiServerConfig;
import org.iscsicsi.target.session.SessionRegistry;

/** The iSCSI transports an engine can start: the netty {@link IscsiServer}. */
final class Transports {

  static final IscsiTransport.Factory DEFAULT = Transports::startServer;

  private Transports() {
  }

  static IscsiTransport startServer(EngineConfig config, TargetDirectory directory)
      throws IOException {
    IscsiServerConfig sc = IscsiServerConfig.defaults()
        .withBind(config.portal().host(), config.portal().port())
        .withAdvertisedPortals(config.advertise().stream().map(HostPort::toString).toList())
        .withTimeouts(config.login().loginTimeout(), config.nopInterval())
        .withLoginPolicy(config.login().policy())
        .withAdmission(config.login().admission());
    IscsiServer server = new IscsiServer(sc, directory);
    try {
      server.start();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while binding " + config.portal());
    } catch (RuntimeException e) {
      // netty rethrows a BindException unchecked
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException("cannot listen for iSCSI on " + config.portal() + ": "
          + (e instanceof java.io.UncheckedIOException ? cause.getMessage() : e.getMessage()), e);
    } catch (Exception e) {
      throw new IOException("cannot listen for iSCSI on " + config.portal() + ": "
          + e.getMessage(), e);
    }
    return new IscsiTransport() {
      @Override
      public HostPort boundAddress() {
        InetSocketAddress a = server.boundAddress();
        return new HostPort(a.getAddress().getHostAddress(), a.getPort());
      }

      @Override
      public SessionRegistry sessions() {
        return server.sessionRegistry();
      }

      @Override
      public void close() {
        server.close();
      }
    };
  }
}
