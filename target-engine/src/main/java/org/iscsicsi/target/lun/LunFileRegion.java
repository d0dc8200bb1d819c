package org.iscsicsi.target.lun;

import io.netty.channel.DefaultFileRegion;
import java.nio.channels.FileChannel;

/**
 * A range of a LUN's backing file that netty sends with {@code sendfile(2)} (the epoll transport
 * recognises {@link DefaultFileRegion}; NIO uses {@link FileChannel#transferTo}). Unlike its
 * parent it never closes the file: each region holds one reference on the LUN's
 * {@link BackingFile}, so a LUN closed or deleted while a read is in flight keeps its descriptor
 * open until the last region is sent or dropped. Holes of a sparse file go out as zeros, as
 * {@code read(2)} gives them.
 */
public final class LunFileRegion extends DefaultFileRegion {

  private final BackingFile backing;
  private final FileChannel file;

  /** Called with a reference on {@code backing} already taken; released on deallocation. */
  LunFileRegion(BackingFile backing, FileChannel file, long position, long count) {
    super(file, position, count);
    this.backing = backing;
    this.file = file;
  }

  /**
   * A region of {@code count} bytes starting {@code offset} bytes into this one, holding its own
   * reference on the LUN; this region stays as it is.
   */
  public LunFileRegion slice(long offset, long count) {
    if (offset < 0 || count < 0 || offset + count > count()) {
      throw new IndexOutOfBoundsException(
          "slice " + offset + "+" + count + " of a region of " + count());
    }
    backing.acquire();
    return new LunFileRegion(backing, file, position() + offset, count);
  }

  @Override
  protected void deallocate() {
    backing.release(); // the file stays open for other regions and I/O; the LUN closes it
  }
}
