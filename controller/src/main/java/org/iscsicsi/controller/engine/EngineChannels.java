package org.iscsicsi.controller.engine;

import io.grpc.ManagedChannel;
import java.io.IOException;

/** Opens the admin channel to a pool engine at the address its IscsiEngine reports. */
@FunctionalInterface
public interface EngineChannels {

  /**
   * @param adminAddress {@code host:port} from {@code status.report.adminAddress}
   * @throws IOException when the controller's TLS files cannot be read
   * @throws IllegalArgumentException when the address does not parse
   */
  ManagedChannel open(String adminAddress) throws IOException;
}
