#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace restake {

// The largest text input read (scenario, sweep file, manifest). Ours are a few KiB, and 16 MiB
// holds a sweep that lists a million values for a parameter or two: anything larger is the wrong
// file, and reading it whole (then parsing it) could take all memory.
inline constexpr std::uintmax_t kMaxTextFileBytes = std::uintmax_t{16} << 20;

namespace detail {
inline const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}
}  // namespace detail

// The whole file as text; `what` names it in the error ("scenario file", "manifest"). Only regular
// files (symbolic links to them too): /dev/zero or a pipe never ends, a directory reads as empty.
// The file is opened first and the opened file checked (fstat), never the path and then the file:
// a pipe put in a regular file's place between the two would have been read (and blocked on).
inline std::string read_text_file(const std::string& path, const char* what) {
  // O_NONBLOCK: opening a pipe does not wait for a writer (it is then refused); O_NOCTTY: a
  // terminal does not become ours.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw std::runtime_error(fmt::format("{}: cannot open {}: no such file", path, what));
    // A socket cannot be opened (ENXIO): say what it is.
    if (struct stat st {}; ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
      throw std::runtime_error(fmt::format("{}: a socket, not a {} (only regular files are read)", path, what));
    throw std::runtime_error(fmt::format("{}: cannot open {}: {}", path, what, std::strerror(error)));
  }
  const struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot open {}: {}", path, what, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(fmt::format("{}: {}, not a {} (only regular files are read)", path,
                                         detail::file_type_name(st.st_mode), what));
  const auto too_large = [&] {
    return std::runtime_error(
        fmt::format("{}: larger than the {} MiB a {} may have (is it the right file?)", path, kMaxTextFileBytes >> 20, what));
  };
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxTextFileBytes) throw too_large();

  // Read in pieces up to the limit, whatever the size said: the file may have grown since.
  std::string text;
  char piece[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, piece, sizeof piece);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(errno)));
    if (n == 0) break;
    text.append(piece, static_cast<std::size_t>(n));
    if (text.size() > kMaxTextFileBytes) throw too_large();
  }
  return text;
}
}  // namespace restake
