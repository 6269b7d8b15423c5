#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

#include <signal.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

namespace restake {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(error)));
}

// fsync of an open-for-reading descriptor flushes the file's (or directory's) data and metadata.
// Returns "" or what failed ("cannot sync DIR: Input/output error").
std::string sync(const std::string& path, int flags, bool directory) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return fmt::format("cannot open {} for syncing: {}", path, std::strerror(errno));
  const int r = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL): the rename is then as durable as they allow.
  if (r != 0 && !(directory && error == EINVAL)) return fmt::format("cannot sync {}: {}", path, std::strerror(error));
  return "";
}

}  // namespace

void check_replaceable(const std::string& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(target, ec);
  if (ec && st.type() != fs::file_type::not_found)
    throw std::runtime_error(fmt::format("cannot write {}: {}", target, ec.message()));
  const char* what = nullptr;
  switch (st.type()) {
    case fs::file_type::not_found:
    case fs::file_type::regular: return;
    case fs::file_type::directory: what = "a directory"; break;
    case fs::file_type::symlink:
      throw std::runtime_error(fmt::format(
          "cannot write {}: it is a symbolic link (to {}); the output must be a regular file or a new name: give the "
          "link's target instead",
          target, fs::read_symlink(target, ec).string()));
    case fs::file_type::character: what = "a character device"; break;
    case fs::file_type::block: what = "a block device"; break;
    case fs::file_type::fifo: what = "a FIFO"; break;
    case fs::file_type::socket: what = "a socket"; break;
    default: what = "not a regular file"; break;
  }
  throw std::runtime_error(fmt::format(
      "cannot write {}: it is {}; the output must be a regular file (which is replaced) or a new name", target, what));
}

std::vector<std::string> remove_stale_temporaries(const std::string& target) {
  namespace fs = std::filesystem;
  const fs::path t(target);
  const fs::path dir = t.parent_path().empty() ? fs::path(".") : t.parent_path();
  const std::string prefix = t.filename().string() + ".partial-";
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    // Only a writer that no longer exists: a live one (or one we may not signal, EPERM) keeps its file.
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove(e.path(), rm)) {
      spdlog::warn("removed {}, left by process {} which no longer runs", e.path().string(), pid);
      removed.push_back(e.path().string());
    }
  }
  return removed;
}

AtomicFile::AtomicFile(std::string target)
    : target_(std::move(target)), temp_(fmt::format("{}.partial-{}", target_, ::getpid())) {
  check_replaceable(target_);
  remove_stale_temporaries(target_);
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  std::error_code ec;  // nothing to remove if the writer never created it
  std::filesystem::remove(temp_, ec);
}

void AtomicFile::reserve(std::uintmax_t bytes) {
  const auto refuse = [&](int error) {
    throw std::runtime_error(fmt::format("cannot write {}: {} (reserving {} bytes for it)", target_, std::strerror(error), bytes));
  };
  // Reserved space past the end does not count against the file size limit (RLIMIT_FSIZE), the
  // writes into it do: check it here as the kernel will then.
  if (rlimit limit{}; ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && bytes > limit.rlim_cur)
    refuse(EFBIG);
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", temp_, errno);
  const int r = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(bytes));
  const int error = errno;
  ::close(fd);
  if (r != 0 && error != EOPNOTSUPP && error != ENOSYS) refuse(error);
  reserved_ = r == 0;
}

void AtomicFile::commit() {
  if (committed_) throw std::logic_error("AtomicFile::commit: " + target_ + " is already committed");
  // Space reserved past the end and not written stays allocated (ext4, tmpfs) until a truncate,
  // even to the same size, releases it.
  if (struct stat st {}; reserved_ && (::stat(temp_.c_str(), &st) != 0 || ::truncate(temp_.c_str(), st.st_size) != 0))
    throw std::runtime_error(fmt::format("cannot write {}: cannot release the space reserved for {}: {}", target_, temp_,
                                         std::strerror(errno)));
  if (const std::string error = sync(temp_, O_RDONLY, false); !error.empty())
    throw std::runtime_error(fmt::format("cannot write {}: {}", target_, error));
  check_replaceable(target_);  // again: the checks before the run cannot see what appeared during it
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", temp_, target_, ec.message()));
  committed_ = true;
  // The file is complete and in place, its data on disk: only whether its new name survives a crash
  // of the machine is in doubt. Reporting a failure (and exiting non-zero) would say no file was
  // written while a correct one is there, and a sweep would not remove its finished progress
  // point; so this is a warning.
  const std::filesystem::path dir = std::filesystem::path(target_).parent_path();
  if (const std::string error = sync(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY, true); !error.empty())
    spdlog::warn("wrote {}, but {}: its name may not survive a crash of the machine", target_, error);
}

}  // namespace restake
