#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace restake {

// The largest text input read (scenario, sweep file, manifest). Ours are a few KiB, and 16 MiB
// holds a sweep that lists a million values for a parameter or two: anything larger is the wrong
// file, and reading it whole (then parsing it) could take all memory.
inline constexpr std::uintmax_t kMaxTextFileBytes = std::uintmax_t{16} << 20;

namespace detail {
inline const char* file_type_name(std::filesystem::file_type t) {
  switch (t) {
    case std::filesystem::file_type::directory: return "a directory";
    case std::filesystem::file_type::character: return "a character device";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::fifo: return "a pipe";
    case std::filesystem::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}
}  // namespace detail

// The whole file as text; `what` names it in the error ("scenario file", "manifest"). Only regular
// files (symbolic links to them too): /dev/zero or a pipe never ends, a directory reads as empty.
inline std::string read_text_file(const std::string& path, const char* what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) throw std::runtime_error(fmt::format("{}: cannot open {}: no such file", path, what));
  if (ec) throw std::runtime_error(fmt::format("{}: cannot open {}: {}", path, what, ec.message()));
  if (status.type() != fs::file_type::regular)
    throw std::runtime_error(fmt::format("{}: {}, not a {} (only regular files are read)", path,
                                         detail::file_type_name(status.type()), what));
  const auto too_large = [&] {
    return std::runtime_error(
        fmt::format("{}: larger than the {} MiB a {} may have (is it the right file?)", path, kMaxTextFileBytes >> 20, what));
  };
  if (const std::uintmax_t size = fs::file_size(path, ec); !ec && size > kMaxTextFileBytes) throw too_large();

  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open {}", path, what));
  // Read in pieces up to the limit, whatever the size said: the file may have grown since.
  std::string text;
  char piece[1 << 16];
  while (in.read(piece, sizeof piece) || in.gcount() > 0) {
    text.append(piece, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTextFileBytes) throw too_large();
  }
  if (in.bad()) throw std::runtime_error(fmt::format("{}: cannot read {}", path, what));
  return text;
}
}  // namespace restake
