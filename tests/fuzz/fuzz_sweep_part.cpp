// libFuzzer: bytes as a sweep progress file or shard (sweep --resume, merge) -> SweepPartReader:
// a progress file is read as --resume reads it (the sweep parsed again from the texts it stores,
// each point's digest checked, its result read against the sweep's first model); a shard is merged
// alone (merge_shards: the same, plus the per-trial records copied into a sweep file). Only the
// documented std::runtime_error (SweepPartError, h5::Error, ScenarioError) may come out.
#include <algorithm>
#include <stdexcept>

#include "fuzz_support.hpp"
#include "sweep/sweep_points.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const restake::fuzz::ScratchDir scratch;
  const std::string path = scratch.write("part.h5", data, size);
  try {
    const restake::SweepPartReader part(path);
    if (part.is_shard()) {
      (void)restake::merge_shards({path}, scratch.path("merged.h5"));
    } else {
      const restake::Sweep sweep = restake::sweep_of_part(part.identity());
      const restake::Model first = sweep.point_model(0);
      for (const std::size_t p : part.points()) (void)part.result(p, first);
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
