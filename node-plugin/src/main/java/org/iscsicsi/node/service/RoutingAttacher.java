package org.iscsicsi.node.service;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Hands each volume to the attacher its publish_context asks for: {@link MultipathAttacher} for a
 * replicated volume ({@code multipath: "true"}), the single-path attacher otherwise.
 */
public final class RoutingAttacher implements VolumeAttacher {

  private final VolumeAttacher single;
  private final VolumeAttacher multipath;

  public RoutingAttacher(VolumeAttacher single, VolumeAttacher multipath) {
    this.single = single;
    this.multipath = multipath;
  }

  private VolumeAttacher of(VolumeSource source) {
    return source.multipath() ? multipath : single;
  }

  @Override
  public Path attach(String volumeId, VolumeSource source, Map<String, String> secrets)
      throws CsiException {
    return of(source).attach(volumeId, source, secrets);
  }

  @Override
  public void beforeUnmount(String volumeId, VolumeSource source) throws CsiException {
    of(source).beforeUnmount(volumeId, source);
  }

  @Override
  public void detach(String volumeId, VolumeSource source) throws CsiException {
    of(source).detach(volumeId, source);
  }

  @Override
  public Optional<Path> device(VolumeSource source) {
    return of(source).device(source);
  }

  @Override
  public Optional<String> problem(VolumeSource source) {
    return of(source).problem(source);
  }

  @Override
  public void rescan(VolumeSource source) throws CsiException {
    of(source).rescan(source);
  }
}
