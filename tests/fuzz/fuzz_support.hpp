#pragma once
// What the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp) share. A harness hands the input to one
// reader and accepts only the errors that reader documents (ScenarioError, h5::Error, ...); any
// other exception escapes and libFuzzer reports it as a crash, as it does sanitizer reports.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <stdlib.h>  // mkdtemp

namespace restake::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process under $TMPDIR (or /tmp), removed at exit: the HDF5 readers take paths,
// and the writers (merge) look for stale temporaries beside their output, so it is a folder of its own.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/restake-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // a broken harness, not a finding
    dir_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // The file `name` holding exactly the bytes given; its path.
  std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const {
    const std::string file = path(name);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out.flush()) std::abort();  // no space: a broken harness, not a finding
    return file;
  }

 private:
  std::string dir_;
};

}  // namespace restake::fuzz
