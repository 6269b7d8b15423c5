#pragma once
// A file written under a temporary name next to its target and moved over the target only when
// complete, so a file found under the target's name is always whole: a failed or interrupted
// writer leaves the old target (or none), never half a file. Used by every HDF5 writer (results,
// sweep, sweep progress and shard files).
#include <string>

namespace restake {

class AtomicFile {
 public:
  // The temporary is <target>.partial-<pid>, in the target's directory so the rename stays on one
  // file system (and is atomic there); nothing is created yet.
  explicit AtomicFile(std::string target);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return temp_; }  // where the writer writes
  const std::string& target() const { return target_; }

  // The writer has closed the temporary and checked that closing succeeded (a close that fails
  // may have lost data, and must not be renamed into place). Flushes the temporary to disk,
  // renames it over the target and flushes the directory, so the new name survives a crash too.
  // Throws std::runtime_error naming the file if any step fails; the temporary is then removed.
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

}  // namespace restake
