#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace restake {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(error)));
}

// fsync of an open-for-reading descriptor flushes the file's (or directory's) data and metadata.
void sync(const std::string& path, int flags, bool directory) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("cannot open for syncing", path, errno);
  const int r = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL): the rename is then as durable as they allow.
  if (r != 0 && !(directory && error == EINVAL)) fail("cannot sync", path, error);
}

}  // namespace

AtomicFile::AtomicFile(std::string target)
    : target_(std::move(target)), temp_(fmt::format("{}.partial-{}", target_, ::getpid())) {}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  std::error_code ec;  // nothing to remove if the writer never created it
  std::filesystem::remove(temp_, ec);
}

void AtomicFile::commit() {
  if (committed_) throw std::logic_error("AtomicFile::commit: " + target_ + " is already committed");
  sync(temp_, O_RDONLY, false);
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", temp_, target_, ec.message()));
  committed_ = true;
  const std::filesystem::path dir = std::filesystem::path(target_).parent_path();
  sync(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY, true);
}

}  // namespace restake
