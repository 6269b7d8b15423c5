// Fault injection (docs/reliability.md): a disk that fills up, signals and killed processes in
// the middle of run, sweep, merge and resume. After each, either the complete, correct file or no
// file is under the requested name, no temporary is left (but by SIGKILL, and the next writer
// removes those), and a resume completes with the bytes of an uninterrupted run.
//
// A full disk is a file-size limit here (RLIMIT_FSIZE, cli_with_file_limit): a write past it fails
// with EFBIG in the same write(2) of HDF5's file driver where a full disk fails with ENOSPC, with
// no mount needed. By hand, on a 12 KiB tmpfs, the same commands report "No space left on device".
#include "cli_support.hpp"
#include "sweep_support.hpp"
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sweep/sweep_points.hpp"

namespace fs = std::filesystem;
using namespace restake::test;
using namespace restake;

namespace {

// The command failed with the system's reason and nothing else: exit 1 (no crash: HDF5 1.10
// crashed in its exit handler after a failed close, exit 139), no file under `target`, no
// temporary anywhere in the test's folder.
void failed_cleanly(int code, const std::string& err, const TempDir& dir, const std::string& target) {
  INFO("stderr: " << err);
  CHECK(code == 1);
  CHECK(err.find("File too large") != std::string::npos);
  CHECK(!fs::exists(target));
  CHECK(temporaries(dir.path.string()).empty());
}

}  // namespace

TEST_CASE("a run whose disk fills up fails with the system's reason, no crash, and leaves no file") {
  TempDir dir;
  const std::string out = dir / "out.h5";
  std::string stdout_text, err;
  // Summaries only: the file is written when the run ends, and its closing write fails (HDF5 then
  // keeps a half-closed file, and crashed at exit).
  failed_cleanly(cli_with_file_limit(fmt::format("run {} --no-records --trials 1000 --no-progress -o {}", kDefault, out), dir,
                                     12 << 10, &stdout_text, &err),
                 err, dir, out);
  CHECK(err.find("wrote") == std::string::npos);
  CHECK(stdout_text.empty());  // no summary of a run whose file was not written
  // With records the writes during the run fail.
  failed_cleanly(cli_with_file_limit(fmt::format("run {} --trials 20000 --no-progress -o {}", kDefault, out), dir, 256 << 10,
                                     &stdout_text, &err),
                 err, dir, out);
  CHECK(stdout_text.empty());
  // An existing file under the name is left as it was.
  REQUIRE(cli(fmt::format("run {} --no-records --trials 100 --no-progress -o {}", kDefault, out), dir) == 0);
  const std::string before = slurp(out);
  CHECK(cli_with_file_limit(fmt::format("run {} --no-records --trials 1000 --no-progress -o {}", kDefault, out), dir, 12 << 10,
                            nullptr, &err) == 1);
  CHECK(slurp(out) == before);
  CHECK(temporaries(dir.path.string()).empty());
}

TEST_CASE("a sweep, shard or merge whose disk fills up leaves no file, and a resume ends with the single run's bytes") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), single = dir / "single.h5", out = dir / "out.h5";
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 -q", sweep, single), dir) == 0);
  std::string err;

  SUBCASE("a progress point") {  // about 37 KiB each
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} -o {} --threads 2", sweep, out), dir, 16 << 10, nullptr, &err),
                   err, dir, out);
    CHECK(count_files(progress_folder(out)) == 0);
  }
  // The limits sit between the sizes of what must fit and what must not, measured here rather than
  // fixed: the files grow as outputs are added (a point about 41 KiB, the sweep file about 86 KiB).
  const std::uintmax_t whole = fs::file_size(single);
  SUBCASE("the sweep file, after every point is kept for --resume") {  // a point is under half the sweep file
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} -o {} --threads 2", sweep, out), dir, whole * 3 / 4, nullptr, &err),
                   err, dir, out);
    CHECK(count_files(progress_folder(out)) == 6);
    REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --resume", sweep, out), dir, nullptr, &err) == 0);
    contains(err, "6 of 6 points already finished");
    same_file(single, out);
  }
  SUBCASE("a shard") {  // 3 points, about 79 KiB
    const std::string p0 = dir / "p0.h5";
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} --shard 0/2 -o {}", sweep, p0), dir, 40 << 10, nullptr, &err), err,
                   dir, p0);
  }
  SUBCASE("a merge: its shards are left as they were") {  // shards of 2 points, about 70 KiB; merged, 86 KiB
    std::vector<std::string> shards;
    std::uintmax_t largest = 0;
    for (int i = 0; i < 3; ++i) {
      shards.push_back(dir / fmt::format("p{}.h5", i));
      REQUIRE(cli(fmt::format("sweep {} --shard {}/3 -o {} -q", sweep, i, shards.back()), dir) == 0);
      largest = std::max(largest, fs::file_size(shards.back()));
    }
    REQUIRE(largest + 4096 < whole);  // room for a limit between them
    const std::uintmax_t limit = (largest + whole) / 2;
    const std::string bytes = slurp(shards[0]) + slurp(shards[1]) + slurp(shards[2]);
    failed_cleanly(cli_with_file_limit(fmt::format("merge {} -o {}", fmt::join(shards, " "), out), dir, limit, nullptr, &err),
                   err, dir, out);
    CHECK(slurp(shards[0]) + slurp(shards[1]) + slurp(shards[2]) == bytes);
    REQUIRE(cli(fmt::format("merge {} -o {}", fmt::join(shards, " "), out), dir) == 0);
    same_file(single, out);
  }
}

TEST_CASE("--resume simulates again a progress point that cannot be read, and ends with the single run's bytes") {
  const StoppedSweep stopped(3);
  const std::string& folder = stopped.folder;
  // An empty file (what a crash between a rename and the data reaching the disk may leave), and
  // one whose second half is zeros.
  fs::resize_file(folder + "/point-1.h5", 0);
  const std::string point2 = folder + "/point-2.h5";
  const auto size = fs::file_size(point2);
  {
    std::fstream f(point2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string zeros(size - size / 2, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  std::string err;
  REQUIRE(stopped.resume(&err) == 0);
  contains(err, folder + "/point-1.h5: cannot read this progress file");
  contains(err, "simulating point 1 again");
  contains(err, "simulating point 2 again");
  contains(err, "1 of 6 points already finished");
  contains(err, "(5 simulated now)");
  same_file(stopped.single, stopped.out);
}

TEST_CASE("SIGTERM or SIGKILL in the middle of a sweep leaves no sweep file, and --resume ends with the single run's bytes") {
  TempDir dir;
  // Points of about 0.2 s each, so the signal comes in the middle of one.
  const std::string sweep = write_sweep(dir, 4, 40000), single = dir / "single.h5";
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 -q", sweep, single), dir) == 0);
  for (const int signal : {SIGTERM, SIGKILL}) {
    CAPTURE(signal);
    const std::string out = dir / fmt::format("out-{}.h5", signal), folder = progress_folder(out);
    const auto [code, seconds] = signalled_run({"sweep", sweep, "-o", out, "--threads", "2"}, dir / "err.txt", signal,
                                               [&] { return fs::exists(folder + "/point-0.h5"); });
    const std::string err = slurp(dir / "err.txt");
    INFO("stderr: " << err);
    CHECK(!fs::exists(out));
    const std::size_t kept = count_files(folder);
    if (signal == SIGTERM) {
      CHECK(code == 143);
      CHECK(seconds < 1.5);
      contains(err, "interrupted by SIGTERM: no output file written");
      contains(err, fmt::format("points finished are kept in {}", folder));
      CHECK(temporaries(dir.path.string()).empty());
    } else {
      CHECK(code == -1);  // killed: its temporaries stay, for the next writer to remove
    }
    CHECK(kept >= 1);
    std::string resumed;
    REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --resume", sweep, out), dir, nullptr, &resumed) == 0);
    CHECK(temporaries(dir.path.string()).empty());
    same_file(single, out);
  }
}

TEST_CASE("a signal at any point of run, sweep --resume or merge leaves the complete file or none, and the next run ends it") {
  TempDir dir;
  const std::string sweep = write_sweep(dir, 4, 2000), single = dir / "single.h5";
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2 -q", sweep, single), dir) == 0);
  std::vector<std::string> shards;
  for (int i = 0; i < 2; ++i) {
    shards.push_back(dir / fmt::format("p{}.h5", i));
    REQUIRE(cli(fmt::format("sweep {} --shard {}/2 -o {} --records -q", sweep, i, shards.back()), dir) == 0);
  }
  const std::string run_out = dir / "run.h5", reference = dir / "run-reference.h5";
  const std::string run_args = "--trials 30000 --threads 2 --no-progress -q";
  REQUIRE(cli(fmt::format("run {} -o {} {}", kDefault, reference, run_args), dir) == 0);
  // Points in time from the start to past the end of the shorter commands; SIGKILL as the worst.
  for (const int delay_ms : {10, 100}) {
    for (const int signal : {SIGTERM, SIGKILL}) {
      CAPTURE(delay_ms);
      CAPTURE(signal);
      const std::chrono::milliseconds delay(delay_ms);
      // merge: no handler, the signal kills it; the rename is all or nothing.
      const std::string merged = dir / "merged.h5";
      signalled_run({"merge", shards[0], shards[1], "-o", merged}, dir / "err.txt", signal, delay);
      if (fs::exists(merged)) same_file(single, merged);
      fs::remove(merged);
      // run: stopped by its handler (but SIGKILL).
      signalled_run({"run", kDefault, "-o", run_out, "--trials", "30000", "--threads", "2", "--no-progress"}, dir / "err.txt",
                    signal, delay);
      if (fs::exists(run_out)) same_file(reference, run_out);
      fs::remove(run_out);
      // sweep --resume, interrupted again: a later resume still ends with the single run's bytes.
      const std::string out = dir / "out.h5";
      CHECK(cli(fmt::format("sweep {} -o {} --records --threads 2 --stop-after 1 -q", sweep, out), dir) == 130);
      signalled_run({"sweep", sweep, "-o", out, "--records", "--threads", "2", "--resume"}, dir / "err.txt", signal, delay);
      if (!fs::exists(out)) REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2 --resume -q", sweep, out), dir) == 0);
      same_file(single, out);
      fs::remove(out);
    }
  }
  // The next writer of each name removed what the killed ones left.
  REQUIRE(cli(fmt::format("merge {} {} -o {}", shards[0], shards[1], dir / "merged.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} {}", kDefault, run_out, run_args), dir) == 0);
  CHECK(temporaries(dir.path.string()).empty());
}

TEST_CASE("two runs writing the same output at once leave one complete file and no temporary") {
  TempDir dir;
  const std::string out = dir / "out.h5", reference = dir / "reference.h5";
  const std::vector<std::string> args{"run", kDefault, "-o", out, "--trials", "50000", "--threads", "1", "--no-progress", "-q"};
  REQUIRE(cli(fmt::format("run {} -o {} --trials 50000 --threads 1 --no-progress -q", kDefault, reference), dir) == 0);
  const pid_t a = start_cli(args, dir / "a.txt"), b = start_cli(args, dir / "b.txt");
  int status_a = 0, status_b = 0;
  ::waitpid(a, &status_a, 0);
  ::waitpid(b, &status_b, 0);
  CHECK(exit_code(status_a) == 0);
  CHECK(exit_code(status_b) == 0);
  same_file(reference, out);
  CHECK(temporaries(dir.path.string()).empty());
}
