#include "stats/tally_sink.hpp"

#include <utility>

namespace restake {

namespace {

struct SinkChunk final : ChunkSink::Chunk {
  std::unique_ptr<ChunkSink::Chunk> sums;  // a TallyChunk, from Tally::open
  WorstTrials worst;
};

}  // namespace

TallySink::TallySink(Tally& tally, WorstTrials& worst, CloseSums close_sums)
    : tally_(tally), worst_(worst), close_sums_(std::move(close_sums)) {}

std::unique_ptr<ChunkSink::Chunk> TallySink::open(std::uint64_t first, std::uint64_t end) {
  auto c = std::make_unique<SinkChunk>();
  c->sums = tally_.open(first, end);
  c->worst = WorstTrials(worst_.tokens(), worst_.k());
  return c;
}

void TallySink::add(Chunk& chunk, const TrialBlock& rows) {
  auto& c = static_cast<SinkChunk&>(chunk);
  tally_.add(*c.sums, rows);
  if (c.worst.k() > 0) c.worst.add(rows);
}

void TallySink::close(std::unique_ptr<Chunk> chunk) {
  auto& c = static_cast<SinkChunk&>(*chunk);
  worst_.merge(c.worst);  // order-free
  close_sums_(std::unique_ptr<TallyChunk>(static_cast<TallyChunk*>(c.sums.release())));
}

}  // namespace restake
