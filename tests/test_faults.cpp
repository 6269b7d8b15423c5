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

  SUBCASE("a progress point") {  // about 28 KiB each
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} -o {} --threads 2", sweep, out), dir, 16 << 10, nullptr, &err),
                   err, dir, out);
    CHECK(count_files(progress_folder(out)) == 0);
  }
  SUBCASE("the sweep file, after every point is kept for --resume") {  // about 56 KiB
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} -o {} --threads 2", sweep, out), dir, 40 << 10, nullptr, &err),
                   err, dir, out);
    CHECK(count_files(progress_folder(out)) == 6);
    REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --resume", sweep, out), dir, nullptr, &err) == 0);
    contains(err, "6 of 6 points already finished");
    same_file(single, out);
  }
  SUBCASE("a shard") {  // 3 points, about 54 KiB
    const std::string p0 = dir / "p0.h5";
    failed_cleanly(cli_with_file_limit(fmt::format("sweep {} --shard 0/2 -o {}", sweep, p0), dir, 40 << 10, nullptr, &err), err,
                   dir, p0);
  }
  SUBCASE("a merge: its shards are left as they were") {  // shards of 2 points, about 41 KiB
    std::vector<std::string> shards;
    for (int i = 0; i < 3; ++i) {
      shards.push_back(dir / fmt::format("p{}.h5", i));
      REQUIRE(cli(fmt::format("sweep {} --shard {}/3 -o {} -q", sweep, i, shards.back()), dir) == 0);
      REQUIRE(fs::file_size(shards.back()) < (48 << 10));
    }
    const std::string bytes = slurp(shards[0]) + slurp(shards[1]) + slurp(shards[2]);
    failed_cleanly(cli_with_file_limit(fmt::format("merge {} -o {}", fmt::join(shards, " "), out), dir, 48 << 10, nullptr, &err),
                   err, dir, out);
    CHECK(slurp(shards[0]) + slurp(shards[1]) + slurp(shards[2]) == bytes);
    REQUIRE(cli(fmt::format("merge {} -o {}", fmt::join(shards, " "), out), dir) == 0);
    same_file(single, out);
  }
}

TEST_CASE("--resume simulates again a progress point that cannot be read, and ends with the single run's bytes") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), out = dir / "out.h5", folder = progress_folder(out);
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, dir / "single.h5"), dir) == 0);
  CHECK(cli(fmt::format("sweep {} -o {} --records --threads 2 --stop-after 3", sweep, out), dir) == 130);
  REQUIRE(count_files(folder) == 3);
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
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2 --resume", sweep, out), dir, nullptr, &err) == 0);
  contains(err, folder + "/point-1.h5: cannot read this progress file");
  contains(err, "simulating point 1 again");
  contains(err, "simulating point 2 again");
  contains(err, "1 of 6 points already finished");
  contains(err, "(5 simulated now)");
  same_file(dir / "single.h5", out);
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
