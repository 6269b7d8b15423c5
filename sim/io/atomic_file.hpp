#pragma once
// A file written under a temporary name next to its target and moved over the target only when
// complete, so a file found under the target's name is always whole: a failed or interrupted
// writer leaves the old target (or none), never half a file. Used by every HDF5 writer (results,
// sweep, sweep progress and shard files).
#include <cstdint>
#include <string>
#include <vector>

namespace restake {

// Throws std::runtime_error unless `target` is absent or a regular file. The rename in commit()
// replaces whatever has the target's name, so without this `-o /dev/null` (as root) would turn the
// device into a file, and a directory would be found out only after the whole run. A symbolic link
// is refused too: the rename would replace the link, not write where it points.
void check_replaceable(const std::string& target);

// Removes the temporaries <target>.partial-<pid> of writers killed outright (SIGKILL, a crash, a
// node that lost power) whose process no longer exists on this machine, logging each; returns
// their paths. A live writer's file, or one of a process we may not signal, is kept. Called by
// AtomicFile's constructor, so the next run to the same output cleans up after the dead one.
std::vector<std::string> remove_stale_temporaries(const std::string& target);

class AtomicFile {
 public:
  // The temporary is <target>.partial-<pid>, in the target's directory so the rename stays on one
  // file system (and is atomic there); nothing is created yet. Throws as check_replaceable().
  explicit AtomicFile(std::string target);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return temp_; }  // where the writer writes
  const std::string& target() const { return target_; }

  // Reserves `bytes` of disk for the temporary (which the writer has created) without changing its
  // size (fallocate, FALLOC_FL_KEEP_SIZE), so that writes within them cannot find the disk full;
  // throws std::runtime_error naming the target ("No space left on device", or "File too large"
  // past the process's file size limit) if they are not there. For writers whose writes must not
  // fail midway: HDF5 1.10 crashes (SIGSEGV) when a write fails inside H5Ocopy. Does nothing on
  // file systems that cannot reserve space.
  void reserve(std::uintmax_t bytes);

  // The writer has closed the temporary and checked that closing succeeded (a close that fails
  // may have lost data, and must not be renamed into place). Flushes the temporary to disk,
  // renames it over the target and flushes the directory, so the new name survives a crash too.
  // Throws std::runtime_error naming the file if the flush or the rename fails, or if something
  // other than a regular file has taken the target's name meanwhile; the temporary is then
  // removed. A failed flush of the directory, after the rename, is logged as a warning, not
  // thrown: the complete file is in place, only its name's durability over a crash is in doubt.
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
  bool reserved_ = false;  // reserve() allocated space, released by commit()
};

}  // namespace restake
