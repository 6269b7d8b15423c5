// Sweeps on a cluster without MPI: `sweep --shard i/N`, `merge`, and `sweep --resume`, each ending
// with the same bytes of data as a single uninterrupted run.
#include "cli_support.hpp"
#include "sweep_support.hpp"
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "io/h5.hpp"
#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep/sweep_writer.hpp"

namespace fs = std::filesystem;
using namespace restake::test;
using namespace restake;

namespace {

// A sweep run as the shards 0/2 and 1/2 (p0.h5 and p1.h5), to be merged into out.h5.
struct TwoShards {
  TempDir dir;
  std::string sweep = write_sweep(dir), p0 = dir / "p0.h5", p1 = dir / "p1.h5", out = dir / "out.h5";
  explicit TwoShards(const std::string& options = "") {
    REQUIRE(cli(fmt::format("sweep {} --shard 0/2 -o {} {} --threads 2", sweep, p0, options), dir) == 0);
    REQUIRE(cli(fmt::format("sweep {} --shard 1/2 -o {} {} --threads 2", sweep, p1, options), dir) == 0);
  }
  int merge(std::string* err) const { return cli(fmt::format("merge {} {} -o {}", p0, p1, out), dir, nullptr, err); }
};

// A part opened for writing, as an editor (or a hostile program) would open it.
h5::Group open_for_editing(const std::string& path) {
  h5::Group root(h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose));
  REQUIRE(root.id() >= 0);
  return root;
}

// Changes the first number of a dataset in place, as an editor would: the file keeps its layout.
void edit_first_value(const std::string& file, const std::string& dataset, double value) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  REQUIRE(ds >= 0);
  const hid_t space = H5Dget_space(ds);
  std::vector<double> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
  REQUIRE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  REQUIRE(v[0] != value);
  v[0] = value;
  REQUIRE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  H5Sclose(space);
  H5Dclose(ds);
  REQUIRE(H5Fclose(f) >= 0);
}

void set_format_version(const std::string& file, std::int64_t version) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
  REQUIRE(H5Awrite(a, H5T_NATIVE_INT64, &version) >= 0);
  H5Aclose(a);
  REQUIRE(H5Fclose(f) >= 0);
}

}  // namespace

TEST_CASE("a shard i of N holds the points p with p mod N equal to i and a bad i/N is refused") {
  CHECK(shard_points(7, parse_shard("1/3")) == std::vector<std::size_t>{1, 4});
  CHECK(shard_points(7, parse_shard("0/1")) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(shard_points(2, parse_shard("4/5")).empty());
  for (const char* bad : {"3/3", "0/0", "-1/3", "1", "a/b", "1/3x", "/3"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_shard(bad), std::invalid_argument);
  }
  try {
    parse_shard("3/3");
  } catch (const std::invalid_argument& e) {
    contains(e.what(), "i must be below N (shards are numbered 0 to 2)");
  }

  TempDir dir;
  const std::string sweep = write_sweep(dir);
  std::string err;
  CHECK(cli(fmt::format("sweep {} --shard 3/3 -o {}", sweep, dir / "x.h5"), dir, nullptr, &err) != 0);
  contains(err, "i must be below N");
  CHECK(!fs::exists(dir / "x.h5"));

  REQUIRE(cli(fmt::format("sweep {} --shard 1/4 -o {} --threads 2", sweep, dir / "part.h5"), dir, nullptr, &err) == 0);
  const h5::File f = h5::File::open_read_only(dir / "part.h5");
  CHECK(f.attr_string("file_type") == kSweepShardFileType);
  CHECK(f.attr_string("shard") == "1/4");
  CHECK(f.attr_uint("points") == 6);
  CHECK(f.attr_string("sweep_text") == slurp(sweep));
  CHECK(f.attr_string("scenario_text") == slurp(kDefault));
  CHECK(f.open_group("shard").read_uint64s("points") == std::vector<std::uint64_t>{1, 5});
  CHECK(f.open_group("points").dims("values") == std::vector<hsize_t>{6, 2});
  CHECK(!fs::exists(progress_folder(dir / "part.h5")));
}

TEST_CASE("a point's summary stored in a progress file reads back exactly as it was computed") {
  TempDir dir;
  const Sweep sw = parse_sweep(slurp(write_sweep(dir)), dir / "s.toml", [](const std::string& p) { return slurp(p); });
  const Model m = sw.point_model(3);
  PointRun o;
  o.run.trials = 500;
  o.run.seed = 4;
  o.run.threads = 2;
  const RunSummary s = run_point(m, {m.simulation.name, "v", "c", 4, 500, m.simulation.horizon_days}, o);
  const SweepIdentity id{"v", "c", sw.text, sw.scenario_text, 4, 500, false, "s.toml", 1};
  {
    PointFileWriter w(dir.path.string(), 3, id, m);
    w.commit(point_result(m, s));
  }
  const SweepPartReader r(dir / "point-3.h5");
  CHECK(r.points() == std::vector<std::size_t>{3});
  CHECK(r.identity().difference(id).empty());
  const RunSummary back = r.result(3, sw.point_model(0)).summary;
  CHECK(format_summary_json(back) == format_summary_json(s));
  REQUIRE(back.holders.size() == s.holders.size());
  for (std::size_t h = 0; h < s.holders.size(); ++h) {
    CHECK(std::memcmp(&back.holders[h].loss, &s.holders[h].loss, sizeof(LossSummary)) == 0);
    CHECK(std::memcmp(&back.holders[h].net_return, &s.holders[h].net_return, sizeof(ReturnSummary)) == 0);
    CHECK(back.holders[h].loss_by_cause_mean == s.holders[h].loss_by_cause_mean);
  }
}

TEST_CASE("merging 2 or 3 shards gives the single run's file bit for bit") {
  TempDir dir;
  const std::string sweep = write_sweep(dir);
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, dir / "single.h5"), dir) == 0);
  for (const int N : {2, 3}) {
    INFO("shards: " << N);
    std::string parts;
    for (int i = N - 1; i >= 0; --i) {  // any order
      const std::string part = dir / fmt::format("part-{}-of-{}.h5", i, N);
      REQUIRE(cli(fmt::format("sweep {} --shard {}/{} -o {} --records --threads 2 --block 300", sweep, i, N, part), dir) == 0);
      parts += " " + part;
    }
    const std::string merged = dir / fmt::format("merged-{}.h5", N);
    std::string err;
    REQUIRE(cli(fmt::format("merge{} -o {}", parts, merged), dir, nullptr, &err) == 0);
    contains(err, "merged");
    same_file(dir / "single.h5", merged);
  }
  // Without --records too (sketched quantiles).
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2", sweep, dir / "single-nr.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 0/2 -o {} --threads 1", sweep, dir / "nr0.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 1/2 -o {} --threads 2", sweep, dir / "nr1.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("merge {} {} -o {}", dir / "nr0.h5", dir / "nr1.h5", dir / "merged-nr.h5"), dir) == 0);
  same_file(dir / "single-nr.h5", dir / "merged-nr.h5");
}

TEST_CASE("merge refuses a missing point, a duplicate point and a shard of another sweep") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), other = write_sweep(dir, 5);
  for (int i = 0; i < 3; ++i)
    REQUIRE(cli(fmt::format("sweep {} --shard {}/3 -o {} --threads 2", sweep, i, dir / fmt::format("p{}.h5", i)), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 2/3 -o {} --threads 2", other, dir / "q2.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 2/3 -o {} --threads 2 --records", sweep, dir / "r2.h5"), dir) == 0);
  const std::string p0 = dir / "p0.h5", p1 = dir / "p1.h5", p2 = dir / "p2.h5", out = dir / "out.h5";
  std::string err;

  CHECK(cli(fmt::format("merge {} {} -o {}", p0, p1, out), dir, nullptr, &err) == 1);
  contains(err, "2 of 6 points are in no shard: 2, 5 (they belong to shard 2 of 3)");

  CHECK(cli(fmt::format("merge {} {} {} {} -o {}", p0, p1, p2, p1, out), dir, nullptr, &err) == 1);
  contains(err, fmt::format("point 1 is in both {} and {}", p1, p1));
  contains(err, "point 4 is in both");

  CHECK(cli(fmt::format("merge {} {} {} -o {}", p0, p1, dir / "q2.h5", out), dir, nullptr, &err) == 1);
  contains(err, "is not a shard of the same sweep as " + p0);
  contains(err, "the sweep text, the seed (4 vs 5)");

  CHECK(cli(fmt::format("merge {} {} {} -o {}", p0, p1, dir / "r2.h5", out), dir, nullptr, &err) == 1);
  contains(err, "--records (off vs on)");

  CHECK(cli(fmt::format("merge {} {} -o {}", p0, sweep, out), dir, nullptr, &err) == 1);
  CHECK(!fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().string().find("out.h5") == std::string::npos);

  CHECK(cli(fmt::format("merge {} {} {} -o {}", p2, p0, p1, out), dir, nullptr, &err) == 0);
}

TEST_CASE("an interrupted sweep resumed with --resume ends with the same bytes as an uninterrupted run") {
  TempDir dir;
  const std::string sweep = write_sweep(dir);
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, dir / "single.h5"), dir) == 0);

  const std::string out = dir / "out.h5", folder = progress_folder(out);
  std::string err;
  CHECK(cli(fmt::format("sweep {} -o {} --records --threads 2 --stop-after 2", sweep, out), dir, nullptr, &err) == 130);
  contains(err, "2 of 6 points finished are kept in " + folder);
  CHECK(!fs::exists(out));
  CHECK(count_files(folder) == 2);
  CHECK(fs::exists(folder + "/point-0.h5"));
  CHECK(fs::exists(folder + "/point-1.h5"));
  // A progress file never passes for a results file.
  CHECK(h5::File::open_read_only(folder + "/point-1.h5").attr_string("file_type") == kSweepPointFileType);

  // A second interruption keeps the earlier points too.
  CHECK(cli(fmt::format("sweep {} -o {} --records --threads 2 --stop-after 1 --resume", sweep, out), dir, nullptr, &err) == 130);
  CHECK(count_files(folder) == 3);
  // Other options are another sweep: refused, the progress kept.
  CHECK(cli(fmt::format("sweep {} -o {} --threads 2 --resume", sweep, out), dir, nullptr, &err) == 1);
  contains(err, "progress of another sweep (--records (off vs on) differ, this run vs the file)");
  CHECK(count_files(folder) == 3);

  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2 --resume", sweep, out), dir, nullptr, &err) == 0);
  contains(err, "3 of 6 points already finished");
  contains(err, "(3 simulated now)");
  CHECK(!fs::exists(folder));
  same_file(dir / "single.h5", out);

  // A sharded run resumes the same way.
  REQUIRE(cli(fmt::format("sweep {} --shard 0/2 -o {} --records --threads 2", sweep, dir / "a0.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 1/2 -o {} --records --stop-after 1", sweep, dir / "a1.h5"), dir) == 130);
  REQUIRE(cli(fmt::format("sweep {} --shard 1/2 -o {} --records --resume", sweep, dir / "a1.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("merge {} {} -o {}", dir / "a0.h5", dir / "a1.h5", dir / "a.h5"), dir) == 0);
  same_file(dir / "single.h5", dir / "a.h5");
}

TEST_CASE("without --resume a leftover progress folder is removed with a log line") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), out = dir / "out.h5";
  std::string err;
  CHECK(cli(fmt::format("sweep {} -o {} --threads 2 --stop-after 3", sweep, out), dir, nullptr, &err) == 130);
  CHECK(count_files(progress_folder(out)) == 3);
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2", sweep, out), dir, nullptr, &err) == 0);
  contains(err, "removing the progress of an earlier run in " + progress_folder(out));
  contains(err, "(6 simulated now)");
  CHECK(!fs::exists(progress_folder(out)));
}

TEST_CASE("--stop-after stops only before a point it would simulate: a run that finishes them all succeeds") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), out = dir / "out.h5";
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --stop-after 6", sweep, out), dir) == 0);
  CHECK(fs::exists(out));
  CHECK(!fs::exists(progress_folder(out)));
}

TEST_CASE("merge refuses a shard changed after it was written, a shard of an older format, and an output that is a shard") {
  const TwoShards shards;
  const TempDir& dir = shards.dir;
  const std::string &p0 = shards.p0, &p1 = shards.p1, &out = shards.out;
  std::string err;

  // The output named by another path to the same file (./, a hard link) is still that shard.
  fs::create_hard_link(p1, dir / "alias.h5");
  const std::string p1_bytes = slurp(p1);
  for (const std::string& same : {dir / "./p1.h5", dir / "alias.h5"}) {
    CHECK(cli(fmt::format("merge {} {} -o {}", p0, p1, same), dir, nullptr, &err) == 1);
    contains(err, fmt::format("merge: the output {} is the input shard {}: writing it would replace that shard", same, p1));
  }
  CHECK(slurp(p1) == p1_bytes);

  edit_first_value(p0, "point/2/summary/loss/mean", 0.5);
  CHECK(shards.merge(&err) == 1);
  contains(err, p0 + ": point 2: its data do not match the digest written with them (fnv1a64:");
  contains(err, "the file was changed or damaged after it was written");
  CHECK(!fs::exists(out));

  set_format_version(p1, 3);
  CHECK(cli(fmt::format("merge {} {} -o {}", p1, p0, out), dir, nullptr, &err) == 1);
  contains(err, p1 + ": format_version 3, but this restake-sim reads only 5 (older parts have no digest of their data to check)");
  CHECK(!fs::exists(out));
}

TEST_CASE("--resume simulates again a finished point whose file was changed, and ends with the single run's bytes") {
  const StoppedSweep stopped(3);
  const std::string& folder = stopped.folder;
  edit_first_value(folder + "/point-1.h5", "point/trials/loss_fraction", 0.75);

  std::string err;
  REQUIRE(stopped.resume(&err) == 0);
  contains(err, folder + "/point-1.h5: point 1: its data do not match the digest written with them");
  contains(err, "simulating point 1 again");
  contains(err, "2 of 6 points already finished");
  contains(err, "(4 simulated now)");
  same_file(stopped.single, stopped.out);
}

TEST_CASE("merge refuses a point whose records have another shape than the sweep's, even with a digest to match") {
  const TwoShards shards("--records");
  const std::string &p0 = shards.p0, &out = shards.out;
  {
    // One holder fewer in one record, and the digest recomputed, as a hostile file would have it.
    const h5::Group root = open_for_editing(p0);
    const h5::Group point = root.open_group("point/0");
    const std::vector<hsize_t> dims = point.dims("trials/loss_fraction");
    REQUIRE(dims.size() == 2);
    REQUIRE(H5Ldelete(point.id(), "trials/loss_fraction", H5P_DEFAULT) >= 0);
    point.write_doubles("trials/loss_fraction", std::vector<double>(dims[0] * (dims[1] - 1)), {dims[0], dims[1] - 1});
    point.set_attr("data_digest", point_data_digest(point, 0));
  }
  std::string err;
  CHECK(shards.merge(&err) == 1);
  contains(err, fmt::format("{}: point 0: /point/0/trials/loss_fraction has shape [700, 2], expected [700, 3]", p0));
  CHECK(!fs::exists(out));
}

TEST_CASE("a point's datasets are checked against the sweep's shapes before its digest reads any of them") {
  const TwoShards shards;
  const std::string &p0 = shards.p0, &out = shards.out;
  {
    // holder_value as 2^40 numbers: chunked and never written, it costs nothing on disk, but the
    // digest would read 8 TiB of fill values before anything looked at the shape.
    const h5::Group root = open_for_editing(p0);
    REQUIRE(H5Ldelete(root.id(), "point/2/holder_value", H5P_DEFAULT) >= 0);
    const hsize_t huge[] = {hsize_t{1} << 40}, chunk[] = {1024};
    const h5::Handle space(H5Screate_simple(1, huge, nullptr), H5Sclose);
    const h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    REQUIRE(H5Pset_chunk(dcpl.id(), 1, chunk) >= 0);
    const h5::Handle ds(H5Dcreate2(root.id(), "point/2/holder_value", H5T_NATIVE_DOUBLE, space.id(), H5P_DEFAULT, dcpl.id(),
                                   H5P_DEFAULT),
                        H5Dclose);
    REQUIRE(ds.id() >= 0);
    // And a dataset no point has.
    root.open_group("point/0").write_doubles("extra", std::vector<double>{1.0}, {1});
  }
  std::string err;
  CHECK(shards.merge(&err) == 1);
  contains(err, fmt::format("{}: point 0: /point/0/extra is not a dataset of a sweep point", p0));
  {
    const h5::Group root = open_for_editing(p0);
    REQUIRE(H5Ldelete(root.id(), "point/0/extra", H5P_DEFAULT) >= 0);
  }
  CHECK(shards.merge(&err) == 1);
  contains(err, fmt::format("{}: point 2: /point/2/holder_value has shape [1099511627776], expected [3]", p0));
  CHECK(!fs::exists(out));
}

TEST_CASE("merge refuses a shard whose points' data were swapped between two indices: the digest covers the index") {
  const TwoShards shards;
  const std::string &p0 = shards.p0, &out = shards.out;
  {
    // Points 0 and 2 exchanged, each with its own digest: every point's data are intact.
    const h5::Group root = open_for_editing(p0);
    REQUIRE(H5Lmove(root.id(), "point/0", root.id(), "point/swap", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    REQUIRE(H5Lmove(root.id(), "point/2", root.id(), "point/0", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    REQUIRE(H5Lmove(root.id(), "point/swap", root.id(), "point/2", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  }
  std::string err;
  CHECK(shards.merge(&err) == 1);
  contains(err, p0 + ": point 0: its data do not match the digest written with them");
  CHECK(!fs::exists(out));
}

TEST_CASE("merge refuses a point whose model numbers have another shape than the sweep's, even with a digest to match") {
  TempDir dir;
  const std::string sweep = write_sweep(dir);
  const std::string p0 = dir / "p0.h5", p1 = dir / "p1.h5", out = dir / "out.h5";
  REQUIRE(cli(fmt::format("sweep {} --shard 0/2 -o {} --threads 2", sweep, p0), dir) == 0);
  REQUIRE(cli(fmt::format("sweep {} --shard 1/2 -o {} --threads 2", sweep, p1), dir) == 0);
  // An empty horizon (before, std::out_of_range from .at(0)) and one holder value too many (before,
  // read whole and then compared), each with its digest recomputed, as a hostile file would have it.
  const struct {
    const char* dataset;
    std::vector<hsize_t> shape;
    const char* message;
  } cases[] = {{"horizon_days", {0}, "point 0: /point/0/horizon_days has shape [0], expected []"},
               {"holder_value", {4}, "point 0: /point/0/holder_value has shape [4], expected [3]"}};
  for (const auto& c : cases) {
    CAPTURE(c.dataset);
    const std::string damaged = dir / fmt::format("p0-{}.h5", c.dataset);
    fs::copy_file(p0, damaged, fs::copy_options::overwrite_existing);
    {
      const h5::Group root(h5::Handle(H5Fopen(damaged.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose));
      REQUIRE(root.id() >= 0);
      const h5::Group point = root.open_group("point/0");
      REQUIRE(H5Ldelete(point.id(), c.dataset, H5P_DEFAULT) >= 0);
      point.write_doubles(c.dataset, std::vector<double>(c.shape[0], 1.0), c.shape);
      point.set_attr("data_digest", point_data_digest(point, 0));
    }
    std::string err;
    CHECK(cli(fmt::format("merge {} {} -o {}", damaged, p1, out), dir, nullptr, &err) == 1);
    contains(err, fmt::format("{}: {}", damaged, c.message));
    CHECK(!fs::exists(out));
  }
}

TEST_CASE("a second sweep to the same output is refused while the first runs, and leaves the first's files alone") {
  TempDir dir;
  const std::string sweep = write_sweep(dir), out = dir / "out.h5", folder = progress_folder(out);
  // The first sweep: 2 points finished, then still running (this process holds its lock).
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --stop-after 2", sweep, out), dir) == 130);
  REQUIRE(count_files(folder) == 2);
  {
    const OutputLock first(out);
    for (const std::string flags : {"", " --resume", " --shard 0/2"}) {
      std::string err;
      CHECK(cli(fmt::format("sweep {} -o {} --threads 2{}", sweep, out, flags), dir, nullptr, &err) == 1);
      contains(err, fmt::format("another sweep (pid {}) is writing {}; wait for it to end", ::getpid(), out));
      CHECK(count_files(folder) == 2);
      CHECK(!fs::exists(out));
    }
  }
  // Once the first has ended, the same command runs, and leaves no lock file behind.
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2 --resume", sweep, out), dir) == 0);
  CHECK(fs::exists(out));
  CHECK(!fs::exists(folder));
  CHECK(!fs::exists(folder + ".lock"));
}
