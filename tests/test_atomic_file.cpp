#include "io/atomic_file.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "cli_support.hpp"
#include "io/h5.hpp"

namespace fs = std::filesystem;
using restake::AtomicFile;
using restake::test::slurp;
using restake::test::TempDir;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Nothing in the folder but `keep`: no temporary was left behind.
bool only(const TempDir& dir, const std::string& keep) {
  for (const auto& e : fs::directory_iterator(dir.path))
    if (e.path().filename() != keep) return false;
  return true;
}

}  // namespace

TEST_CASE("an atomic file replaces its target only on commit, with nothing left beside it") {
  TempDir dir;
  const std::string target = dir / "out.txt";
  write_text(target, "old");
  {
    AtomicFile f(target);
    CHECK(f.target() == target);
    CHECK(fs::path(f.path()).parent_path() == fs::path(target).parent_path());
    write_text(f.path(), "new");
    CHECK(slurp(target) == "old");
    f.commit();
    CHECK_THROWS_AS(f.commit(), std::logic_error);
  }
  CHECK(slurp(target) == "new");
  CHECK(only(dir, "out.txt"));
}

TEST_CASE("an atomic file never committed leaves the target untouched and no temporary, also after an exception") {
  TempDir dir;
  const std::string target = dir / "out.txt";
  write_text(target, "old");
  CHECK_THROWS_AS(
      [&] {
        AtomicFile f(target);
        write_text(f.path(), "half");
        throw std::runtime_error("the writer failed");
      }(),
      std::runtime_error);
  CHECK(slurp(target) == "old");
  CHECK(only(dir, "out.txt"));

  // A commit that cannot rename (the target's folder is gone) says so and keeps nothing either.
  const std::string lost = dir / "gone/out.txt";
  fs::create_directories(dir / "gone");
  {
    AtomicFile f(lost);
    write_text(f.path(), "data");
    fs::rename(f.path(), dir / "moved");  // the temporary vanished under the writer
    CHECK_THROWS_WITH_AS(f.commit(), doctest::Contains(f.path().c_str()), std::runtime_error);
  }
  CHECK(!fs::exists(lost));
}

TEST_CASE("an HDF5 file with an object still open refuses to close rather than close half way") {
  TempDir dir;
  restake::h5::File f = restake::h5::File::create(dir / "x.h5");
  {
    const restake::h5::Group g = f.create_group("g");
    CHECK_THROWS_WITH_AS(f.close(), doctest::Contains("still open"), restake::h5::Error);
  }
  f.close();
  CHECK(restake::h5::File::open_read_only(dir / "x.h5").exists("g"));
}

TEST_CASE("an atomic file replaces only a regular file: a directory, FIFO or symbolic link is refused, up front and at commit") {
  TempDir dir;
  fs::create_directories(dir / "folder");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  write_text(dir / "real.txt", "kept");
  fs::create_symlink(dir / "real.txt", dir / "link");
  CHECK_THROWS_WITH_AS(AtomicFile(dir / "folder"), doctest::Contains("it is a directory"), std::runtime_error);
  CHECK_THROWS_WITH_AS(AtomicFile(dir / "fifo"), doctest::Contains("it is a FIFO"), std::runtime_error);
  CHECK_THROWS_WITH_AS(AtomicFile(dir / "link"), doctest::Contains(("it is a symbolic link (to " + dir / "real.txt" + ")").c_str()),
                       std::runtime_error);
  CHECK_NOTHROW(AtomicFile(dir / "real.txt"));
  CHECK_NOTHROW(AtomicFile(dir / "new.txt"));

  // Something that takes the target's name while the writer works is not replaced either.
  {
    AtomicFile f(dir / "late");
    write_text(f.path(), "data");
    REQUIRE(::mkfifo((dir / "late").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(f.commit(), doctest::Contains(("cannot write " + dir / "late" + ": it is a FIFO").c_str()), std::runtime_error);
  }
  CHECK(fs::is_fifo(dir / "late"));
  CHECK(fs::is_fifo(dir / "fifo"));
  CHECK(fs::is_symlink(dir / "link"));
  CHECK(slurp(dir / "real.txt") == "kept");
  for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().string().find(".partial-") == std::string::npos);
}

TEST_CASE("the temporaries of writers that no longer run are removed by the next writer, a live writer's are kept") {
  TempDir dir;
  const std::string target = dir / "out.h5";
  // A process that has ended (its pid is free until reused, which a test run will not reach).
  const pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  const std::string stale = target + ".partial-" + std::to_string(dead);
  const std::string live = target + ".partial-1";  // init: always running
  const std::string other = dir / "other.h5.partial-" + std::to_string(dead);  // another output's
  for (const std::string& f : {stale, live, other}) std::ofstream(f) << "half a file";

  { AtomicFile file(target); }
  CHECK(!std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(other));
  CHECK(restake::remove_stale_temporaries(target).empty());
}
