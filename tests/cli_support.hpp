#pragma once
// Helpers for tests that run the restake-sim binary (its path is the macro RESTAKE_CLI).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// The exit code of a child's wait status; a process killed by a signal (a crash) gives 128 + the
// signal, as a shell reports it (139 for SIGSEGV).
inline int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// As cli(), with every file the CLI writes limited to `max_file_bytes` (RLIMIT_FSIZE, SIGXFSZ
// ignored): a write past the limit fails with EFBIG ("File too large"), the way a write to a full
// disk fails with ENOSPC, through the same write(2) in HDF5's file driver. The captured stdout and
// stderr are limited too: keep the limit above a few KiB.
inline int cli_with_file_limit(const std::string& args, const TempDir& dir, std::uint64_t max_file_bytes,
                               std::string* out = nullptr, std::string* err = nullptr) {
  const std::string o = dir / "stdout.txt", e = dir / "stderr.txt";
  const std::string command = fmt::format("{} {} >{} 2>{}", RESTAKE_CLI, args, o, e);
  std::fflush(nullptr);  // else the child's exec or freopen writes what our buffers hold a second time
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const rlimit limit{max_file_bytes, max_file_bytes};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(126);
    std::signal(SIGXFSZ, SIG_IGN);  // kept across exec: the write fails instead of killing the process
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out) *out = slurp(o);
  if (err) *err = slurp(e);
  return exit_code(status);
}

// Starts `restake-sim args...` in the background, stderr to `err`, stdout to /dev/null.
inline pid_t start_cli(const std::vector<std::string>& args, const std::string& err) {
  std::fflush(nullptr);  // else the child's freopen writes what our buffers hold a second time
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(err.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    std::vector<char*> argv{const_cast<char*>(RESTAKE_CLI)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(RESTAKE_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Starts `restake-sim args...` (stderr to `err`), waits until `ready()` says so (polled every
// 10 ms, for at most `timeout`), sends it `signal`, and returns its exit code (-1 if the signal
// killed it: its handler was not there) and the seconds from the signal to its end.
inline std::pair<int, double> signalled_run(const std::vector<std::string>& args, const std::string& err, int signal,
                                            const std::function<bool()>& ready,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const pid_t pid = start_cli(args, err);
  if (pid < 0) return {-1, 0.0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count()};
}

// The same, with the signal sent after `delay`.
inline std::pair<int, double> signalled_run(const std::vector<std::string>& args, const std::string& err, int signal,
                                            std::chrono::milliseconds delay) {
  const auto until = std::chrono::steady_clock::now() + delay;
  return signalled_run(args, err, signal, [until] { return std::chrono::steady_clock::now() >= until; }, delay * 2);
}

// The files and folders below `folder` whose name has ".partial-" followed by a pid: writers'
// temporaries, which no writer leaves behind however it ends (but SIGKILL).
inline std::vector<std::string> temporaries(const std::string& folder) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".partial-");
    if (at != std::string::npos && at + 9 < name.size() &&
        name.find_first_not_of("0123456789", at + 9) == std::string::npos)
      found.push_back(e.path().string());
  }
  return found;
}

}  // namespace restake::test
