package org.iscsicsi.node.service;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import org.iscsicsi.csi.exec.Args;

/**
 * The only directory tree the node plugin mounts in: kubelet's ({@code --kubelet-dir}, default
 * {@code /var/lib/kubelet}). A staging or target path outside it is refused, and so is a path
 * with a symbolic link anywhere below the root: a pod that can write into a volume could
 * otherwise plant a link that makes the privileged plugin create directories or mount somewhere
 * else on the host. Directories are created one component at a time without following links,
 * and a mount point is checked again just before the mount.
 */
public final class KubeletDir {

  private final Path root;

  /** @param root kubelet's root directory, absolute; a link in it (above the paths) is allowed */
  public KubeletDir(Path root) {
    if (!root.isAbsolute()) {
      throw new IllegalArgumentException("kubelet directory must be absolute: " + root);
    }
    this.root = root.normalize();
  }

  public Path root() {
    return root;
  }

  /**
   * Validates a request path: absolute, normalized, strictly below the root, no existing
   * component below the root a symbolic link.
   *
   * @throws CsiException INVALID_ARGUMENT naming the field and what is wrong
   */
  public Path requestPath(String field, String value) throws CsiException {
    Path p;
    try {
      p = Args.absolutePath(field, value);
    } catch (IllegalArgumentException e) {
      throw CsiException.invalid(e.getMessage());
    }
    if (!p.startsWith(root) || p.equals(root)) {
      throw CsiException.invalid(field + " " + p + " is not below the kubelet directory " + root
          + " (--kubelet-dir)");
    }
    checkNoLinks(p);
    return p;
  }

  /**
   * Refuses {@code p} if a component below the root that exists is a symbolic link.
   *
   * @throws CsiException INVALID_ARGUMENT naming the link
   */
  public void checkNoLinks(Path p) throws CsiException {
    for (Path c : components(p)) {
      Optional<BasicFileAttributes> a = attributes(c);
      if (a.isEmpty()) {
        return; // nothing below a missing component exists either
      }
      if (a.get().isSymbolicLink()) {
        throw CsiException.invalid(c + " is a symbolic link; the node plugin follows no links"
            + " below " + root);
      }
    }
  }

  /** Creates {@code dir} and its missing parents below the root, never through a link. */
  public void createDirectories(Path dir) throws CsiException, IOException {
    for (Path c : components(dir)) {
      Optional<BasicFileAttributes> a = attributes(c);
      if (a.isEmpty()) {
        try {
          Files.createDirectory(c); // mkdir(2) fails on an existing link rather than follow it
          continue;
        } catch (FileAlreadyExistsException raced) {
          a = attributes(c);
        }
      }
      if (a.isEmpty() || !a.get().isDirectory() || a.get().isSymbolicLink()) {
        throw CsiException.invalid(c + " is not a directory"
            + (a.isPresent() && a.get().isSymbolicLink() ? " (a symbolic link)" : ""));
      }
    }
  }

  /** Creates the regular file {@code file} (and its parents) unless it exists as one. */
  public void createFile(Path file) throws CsiException, IOException {
    createDirectories(file.getParent());
    try {
      Files.createFile(file); // O_CREAT|O_EXCL: never through a link
    } catch (FileAlreadyExistsException exists) {
      requireRegularFile(file);
    }
  }

  /** Fails unless {@code p} is a real directory (not a link) with no link above it. */
  public void requireDirectory(Path p) throws CsiException {
    checkNoLinks(p);
    if (!attributes(p).map(BasicFileAttributes::isDirectory).orElse(false)) {
      throw CsiException.invalid(p + " is not a directory");
    }
  }

  /** Fails unless {@code p} is a real regular file (not a link) with no link above it. */
  public void requireRegularFile(Path p) throws CsiException {
    checkNoLinks(p);
    if (!attributes(p).map(BasicFileAttributes::isRegularFile).orElse(false)) {
      throw CsiException.invalid(p + " is not a regular file");
    }
  }

  /** The paths from the first component below the root down to {@code p}. */
  private java.util.List<Path> components(Path p) throws CsiException {
    Path n = p.normalize();
    if (!n.startsWith(root) || n.equals(root)) {
      throw CsiException.invalid(p + " is not below the kubelet directory " + root);
    }
    java.util.List<Path> out = new java.util.ArrayList<>();
    Path c = root;
    for (Path name : root.relativize(n)) {
      c = c.resolve(name);
      out.add(c);
    }
    return out;
  }

  private static Optional<BasicFileAttributes> attributes(Path p) throws CsiException {
    try {
      return Optional.of(Files.readAttributes(p, BasicFileAttributes.class,
          LinkOption.NOFOLLOW_LINKS));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new CsiException(io.grpc.Status.Code.INTERNAL, "cannot stat " + p + ": " + e, e);
    }
  }
}
