#pragma once
// A streamed run's partial tallies as bytes (stats/bytes.hpp), for one run split between processes
// (cli/mpi_run.cpp): a chunk's ordered sums, to be closed in trial order by the process that
// writes; and once at the end a process's order-free sums and worst trials. Never per-trial records.
// The reading side builds its objects from the run's shape and options (the same on every process)
// and checks every length against them.
#include <vector>

#include "stats/bytes.hpp"
#include "stats/tally.hpp"
#include "stats/worst_trials.hpp"

namespace restake {

void save(ByteWriter& out, const OrderedSums& s);
void load(ByteReader& in, OrderedSums& s);  // into sums shaped as the sender's

// A chunk's trial range, whether it was weighted, its sums.
void save(ByteWriter& out, const TallyChunk& c);
void load(ByteReader& in, TallyChunk& c);

void save(ByteWriter& out, const ExactSums& e);
void load(ByteReader& in, ExactSums& e);  // into ExactSums(shape, the run's sketch accuracy)

void save(ByteWriter& out, const WorstTrials& w);
void load(ByteReader& in, WorstTrials& w);  // into an empty WorstTrials(tokens, k)

}  // namespace restake
