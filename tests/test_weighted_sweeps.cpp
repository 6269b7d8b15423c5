// Weighted (importance-sampled) sweeps: the one tilt of every point, the weights in the sweep file,
// its progress and shard files and the MPI block codec; a plain block's bytes are unchanged.
#include "cli_support.hpp"
#include "h5_dump.hpp"
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "io/h5.hpp"
#include "sweep/block_codec.hpp"
#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep/sweep_writer.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

const std::string kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

Sweep three_points(const TempDir& dir) {
  const std::string path = dir / "s.toml";
  std::ofstream(path) << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = 600\nseed = 4\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0.0, 0.05, 0.2]\n",
      kDefault);
  return parse_sweep(slurp(path), path, [](const std::string& p) { return slurp(p); });
}

TrialBlock weighted_block(const Model& m) {
  RunSpec o;
  o.trials = 50;
  o.seed = 3;
  o.threads = 1;
  o.block_trials = 50;
  o.tilt = uniform_tilt(m, 3.0, 0.1);
  TrialBlock out;
  run_trials(m, o, [&](const TrialBlock& b) { out = b; });
  return out;
}

}  // namespace

TEST_CASE("the MPI block codec carries a weighted block's weights behind a header flag, and a plain block as before") {
  const Model m = parse_scenario(slurp(kDefault), kDefault);
  const TrialBlock w = weighted_block(m);
  REQUIRE(w.weight.size() == 50);
  const std::vector<char> bytes = encode_block(7, 0, w);
  std::uint64_t header[4];
  std::memcpy(header, bytes.data(), sizeof header);
  CHECK(header[2] == (50 | kWeightedBlockFlag));
  const DecodedBlock d = decode_block(bytes, RecordShape::of(m), 50);
  CHECK(d.point == 7);
  CHECK(d.block.weight == w.weight);
  CHECK(d.block.loss_fraction == w.loss_fraction);
  CHECK(d.block.avs_shares_end == w.avs_shares_end);

  TrialBlock plain = w;
  plain.weight.clear();
  const std::vector<char> plain_bytes = encode_block(7, 0, plain);
  std::memcpy(header, plain_bytes.data(), sizeof header);
  CHECK(header[2] == 50);  // no flag: the bytes of a plain block are those of before weights
  CHECK(plain_bytes.size() == bytes.size() - 50 * sizeof(double));
  CHECK(decode_block(plain_bytes, RecordShape::of(m), 50).block.weight.empty());

  std::vector<char> cut = bytes;
  cut.resize(cut.size() - 8);
  CHECK_THROWS_WITH_AS(decode_block(cut, RecordShape::of(m), 50), "MPI sweep: a result message has the wrong size", std::runtime_error);
  // `run` under MPI decodes blocks too: its errors say so, and whose block it was.
  CHECK_THROWS_WITH_AS(decode_block(cut, RecordShape::of(m), 50, "MPI run: block 0 from rank 1"),
                       "MPI run: block 0 from rank 1: a result message has the wrong size", std::runtime_error);
}

TEST_CASE("a weighted sweep stores its weights and tilt, and its shards merge into the single run's file bit for bit") {
  TempDir dir;
  const Sweep sw = three_points(dir);
  const Model first = sw.point_model(0);
  PointRun o;
  o.run.trials = 600;
  o.run.seed = 4;
  o.run.threads = 2;
  o.run.block_trials = 250;
  o.run.tilt = uniform_tilt(first, 3.0, 0.1);  // one tilt for every point
  o.exact_quantiles = true;
  const SweepIdentity id{"v", "c", sw.text, sw.scenario_text, 4, 600, true, "s.toml", 1, TiltInfo::of(first, o.run.tilt)};
  const std::string progress = dir / "progress";
  std::filesystem::create_directories(progress);
  {
    SweepWriter single(dir / "single.h5", sw, first, id.meta(), id.writer_options(first));
    for (std::size_t p = 0; p < sw.points.size(); ++p) {
      const Model m = sw.point_model(p);
      PointFileWriter part(progress, p, id, m);
      const RunSummary s = run_point(m, {m.simulation.name, "v", "c", 4, 600, m.simulation.horizon_days, TiltInfo::of(m, o.run.tilt)},
                                     o, [&](const TrialBlock& b) {
                                       single.append(p, b);
                                       part.append(b);
                                     });
      CHECK(s.info.weighted());
      CHECK(s.weights.effective_sample_size < 600.0);
      single.add_point(p, m, s);
      part.commit(point_result(m, s));
      // The point's summary reads back from its progress file as it was computed.
      const RunSummary back = SweepPartReader(progress + fmt::format("/point-{}.h5", p)).result(p, first).summary;
      CHECK(format_summary_json(back) == format_summary_json(s));
      CHECK(back.weights.effective_sample_size == s.weights.effective_sample_size);
    }
    single.finish();
  }
  const h5::File f = h5::File::open_read_only(dir / "single.h5");
  CHECK(f.attr_int("weighted") == 1);
  CHECK(f.read_doubles("tilt/rate_factor") == o.run.tilt.rate_factor);
  CHECK(f.dims("trials/weight") == std::vector<hsize_t>{3, 600});
  CHECK(f.dims("summary/weights/effective_sample_size") == std::vector<hsize_t>{3});
  CHECK(f.dims("summary/loss/tail_ess99") == std::vector<hsize_t>{3, first.holders.size()});

  // Two shards from the progress files, merged: the single run's file.
  std::vector<SweepPartReader> parts;
  for (const std::string& file : progress_files(progress, id)) parts.emplace_back(file);
  REQUIRE(parts.size() == 3);
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<SweepPartReader> mine;
    for (const std::size_t p : shard_points(3, {i, 2})) mine.emplace_back(progress + fmt::format("/point-{}.h5", p));
    write_shard(dir / fmt::format("shard-{}.h5", i), sw, id, {i, 2}, mine);
  }
  CHECK(merge_shards({dir / "shard-1.h5", dir / "shard-0.h5"}, dir / "merged.h5") == 3);
  Dump single = dump_file(dir / "single.h5"), merged = dump_file(dir / "merged.h5");
  single.erase("@created_utc");
  merged.erase("@created_utc");
  CHECK(single == merged);

  // A plain part and a weighted one are of two runs.
  SweepIdentity plain = id;
  plain.tilt = {};
  CHECK(id.difference(plain) == "the estimator (importance sampling vs plain Monte Carlo)");
  SweepIdentity other = id;
  other.tilt.rate_factor[0] = 2.0;
  CHECK(id.difference(other) == "the importance-sampling tilt");
}
