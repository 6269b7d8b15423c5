#pragma once
// Helpers for tests that run the restake-sim binary (its path is the macro RESTAKE_CLI).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

namespace restake::test {

// A fresh directory, removed with everything in it when the test ends.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("restake-test-{}-{}", ::getpid(), std::rand());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the CLI with stdout and stderr captured; returns the exit code.
inline int cli(const std::string& args, const TempDir& dir, std::string* out = nullptr, std::string* err = nullptr) {
  const std::string o = dir / "stdout.txt", e = dir / "stderr.txt";
  const int status = std::system(fmt::format("{} {} >{} 2>{}", RESTAKE_CLI, args, o, e).c_str());
  if (out) *out = slurp(o);
  if (err) *err = slurp(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace restake::test
