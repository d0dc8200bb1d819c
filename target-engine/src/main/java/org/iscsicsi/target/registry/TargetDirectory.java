package org.iscsicsi.target.registry;

import java.util.List;
import java.util.Optional;

/** The targets an engine exports. Reads are cheap and safe from event-loop threads. */
public interface TargetDirectory {

  Optional<ExportedTarget> target(String name);

  List<ExportedTarget> targets();
}
