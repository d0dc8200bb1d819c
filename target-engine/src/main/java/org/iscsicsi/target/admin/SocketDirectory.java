package org.iscsicsi.target.admin;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The place of the admin API's unix socket: a directory only the engine's user may change, and
 * the socket in it readable and writable by that user alone. Whoever can connect to the socket
 * administers every target, so the directory is the real lock: between bind and chmod the socket
 * has the process's umask, and only the directory keeps others out during that moment.
 */
public final class SocketDirectory {

  /** Mode of a directory the engine creates for its socket. */
  public static final Set<PosixFilePermission> DIRECTORY_MODE =
      PosixFilePermissions.fromString("rwx------");

  /** Mode of the socket once bound. */
  public static final Set<PosixFilePermission> SOCKET_MODE =
      PosixFilePermissions.fromString("rw-------");

  /** sun_path holds 108 bytes with the terminating NUL (unix(7)). */
  static final int MAX_SOCKET_PATH_BYTES = 107;

  private static final Set<PosixFilePermission> WRITABLE_BY_OTHERS =
      Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

  private SocketDirectory() {
  }

  /**
   * Makes {@code socket}'s directory ready: created with mode 0700 when missing, refused when it
   * belongs to another user or others may write to it; a stale socket of an engine that died is
   * removed, while a live one or any other file at that path is refused.
   */
  public static void prepare(Path socket) throws IOException {
    int length = socket.toAbsolutePath().toString()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (length > MAX_SOCKET_PATH_BYTES) {
      throw new IOException("admin socket path " + socket + " is " + length + " bytes long; a "
          + "unix socket path holds at most " + MAX_SOCKET_PATH_BYTES);
    }
    Path dir = socket.toAbsolutePath().getParent();
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
      Files.setPosixFilePermissions(dir, DIRECTORY_MODE); // the umask may have narrowed it
    }
    checkDirectory(dir);
    removeStaleSocket(socket);
  }

  /**
   * Takes a directory that belongs to the engine alone (one inside its state directory): creates
   * it (and missing parents) with mode 0700, or narrows an existing one of the engine's user to
   * 0700, as Kubernetes' fsGroup makes a volume's directories group-writable. A directory of
   * another user is refused.
   */
  public static void claim(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
    }
    checkOwner(dir);
    Files.setPosixFilePermissions(dir, DIRECTORY_MODE);
  }

  /** Narrows a freshly bound socket to its owner. */
  public static void restrict(Path socket) throws IOException {
    Files.setPosixFilePermissions(socket, SOCKET_MODE);
  }

  static void checkDirectory(Path dir) throws IOException {
    checkOwner(dir);
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
    if (perms.stream().anyMatch(WRITABLE_BY_OTHERS::contains)) {
      throw new IOException("admin socket directory " + dir + " is writable by other users (mode "
          + PosixFilePermissions.toString(perms) + "): use a directory of mode 0700 (or let the "
          + "engine create one)");
    }
  }

  private static void checkOwner(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("admin socket directory " + dir + " is not a directory");
    }
    int owner = (Integer) Files.getAttribute(dir, "unix:uid");
    int me = currentUid();
    if (owner != me) {
      throw new IOException("admin socket directory " + dir + " belongs to uid " + owner
          + ", not to the engine's uid " + me + ": use a directory of the engine's user");
    }
  }

  private static void removeStaleSocket(Path socket) throws IOException {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    BasicFileAttributes a = Files.readAttributes(socket, BasicFileAttributes.class,
        LinkOption.NOFOLLOW_LINKS);
    if (!a.isOther()) {
      throw new IOException("admin socket path " + socket + " exists and is not a socket; "
          + "remove it or choose another --admin path");
    }
    if (answers(socket)) {
      throw new IOException("admin socket " + socket + " is in use by another running process");
    }
    Files.delete(socket);
  }

  private static boolean answers(Path socket) {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      return ch.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException refused) {
      return false; // nobody listens: the socket of an engine that died
    }
  }

  /** The effective uid of this process: the owner of its /proc entry (Linux). */
  static int currentUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }
}
