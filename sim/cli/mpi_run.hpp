#pragma once
// `mpirun -n R restake-sim run ...` in a build with -DRESTAKE_MPI=ON (docs/cluster.md): the ranks
// share one run's trials and rank 0 alone writes, the file being bit for bit the one a single
// process writes, whatever the ranks and threads.
// - Without records (streamed): the run's chunks of kTallyChunk trials go round-robin to the ranks
//   (stream_trials' ChunkShare); each chunk's ordered sums travel to rank 0, which closes them in
//   chunk order - the floating-point merges of a single process - and at the end each rank sends
//   its order-free sums (fixed-point sums, sketches, max weight) and worst trials once. A rank
//   hands on a chunk only within a window of chunks past rank 0's last closed one (credits from
//   rank 0), so the chunks waiting on rank 0 stay bounded.
// - With records: blocks of trials go round-robin to the ranks and travel whole (block_codec.hpp)
//   to rank 0, which hands them to the writer and the tally in trial order.
// Only compiled with RESTAKE_MPI; the engine and the model know nothing of MPI.
#include <cstdint>
#include <functional>

#include "mpi_sweep.hpp"
#include "stats/tally.hpp"
#include "stats/worst_trials.hpp"
#include "trial/engine.hpp"

namespace restake {

// Every rank calls it. Rank 0's `tally` and `worst` get the whole run's (its chunks closed in
// order, `closed` told of each chunk's trials); the other ranks' are their own share's, sent to
// rank 0 (`closed` is not called there). `stop` as stream_trials'.
void stream_run_mpi(const Model& m, const RunSpec& run, Tally& tally, WorstTrials& worst,
                    const std::function<void(std::uint64_t)>& closed, const std::function<bool()>& stop, const MpiSession& mpi);

// Every rank calls it; `on_block` is called on rank 0 only, with every block of the run in trial
// order (as run_trials calls it).
void record_run_mpi(const Model& m, const RunSpec& run, const std::function<void(const TrialBlock&)>& on_block,
                    const std::function<bool()>& stop, const MpiSession& mpi);

// Runs `body` (the command) on every rank and gives its exit code. A rank that fails, or is
// interrupted, ends the whole job at once (MPI_Abort, with the exit code the command would have
// had): the others may be waiting for it. Rank 0's output file is a temporary until the writer
// finishes, and `body` has unwound (its writer removing the temporary) before the abort. The other
// ranks log warnings and errors only, and return only once rank 0 has finished.
int run_on_ranks(const MpiSession& mpi, const std::function<int()>& body);

}  // namespace restake
