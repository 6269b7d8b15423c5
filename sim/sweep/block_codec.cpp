#include "sweep/block_codec.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "io/schema.hpp"

namespace restake {

namespace {

// Vectors of a TrialBlock, in the order they travel: the declared per-trial records present in its
// run (a run without markets sends what it always sent; the weight comes before the markets').
template <class Block>
auto block_vectors(Block& b, bool weighted) {
  std::vector<decltype(&b.loss_fraction)> out;
  for (const TrialRecordSpec* r : trial_records(Presence::of(b.shape, weighted))) out.push_back(&(b.*r->field));
  return out;
}

}  // namespace

// {point, block index, trials in the block (| kWeightedBlockFlag), AVS x holder losses}, then the
// block's doubles vector by vector, then each trial's end in the losses (8-byte integers), then the
// losses themselves.
std::vector<char> encode_block(std::uint64_t point, std::uint64_t index, const TrialBlock& b) {
  const bool weighted = !b.weight.empty();
  if (weighted && b.weight.size() != b.count) throw std::logic_error("encode_block: a weight per trial");
  std::size_t doubles = 0;
  for (const auto* v : block_vectors(b, weighted)) doubles += v->size();
  const std::size_t ends = b.avs_shares_end.size() * sizeof(std::uint64_t), shares = b.avs_shares.size() * sizeof(AvsHolderShare);
  const std::uint64_t header[4] = {point, index, b.count | (weighted ? kWeightedBlockFlag : 0), b.avs_shares.size()};
  std::vector<char> bytes(sizeof header + doubles * sizeof(double) + ends + shares);
  std::memcpy(bytes.data(), header, sizeof header);
  char* at = bytes.data() + sizeof header;
  for (const auto* v : block_vectors(b, weighted)) {
    if (v->empty()) continue;
    std::memcpy(at, v->data(), v->size() * sizeof(double));
    at += v->size() * sizeof(double);
  }
  if (ends > 0) std::memcpy(at, b.avs_shares_end.data(), ends);
  if (shares > 0) std::memcpy(at + ends, b.avs_shares.data(), shares);
  return bytes;
}

DecodedBlock decode_block(const std::vector<char>& bytes, const RecordShape& shape, std::uint64_t block_trials,
                          std::string_view context) {
  const auto bad = [&](std::string_view why) { return std::runtime_error(fmt::format("{}: {}", context, why)); };
  DecodedBlock d;
  std::uint64_t header[4];
  if (bytes.size() < sizeof header) throw bad("a result message is too short");
  std::memcpy(header, bytes.data(), sizeof header);
  const bool weighted = (header[2] & kWeightedBlockFlag) != 0;
  const std::uint64_t count = header[2] & ~kWeightedBlockFlag;
  if (count > block_trials) throw bad("a result message has more trials than a block");
  d.point = header[0];
  d.index = header[1];
  const std::size_t avs = (bytes.size() - sizeof header) / sizeof(AvsHolderShare);
  if (header[3] > avs) throw bad("a result message has the wrong size");
  d.block.reset(shape, header[1] * block_trials, static_cast<std::size_t>(count));
  if (weighted) d.block.weight.assign(static_cast<std::size_t>(count), 0.0);
  d.block.avs_shares.resize(static_cast<std::size_t>(header[3]));
  const char* at = bytes.data() + sizeof header;
  std::size_t doubles = 0;
  for (const auto* v : block_vectors(d.block, weighted)) doubles += v->size();
  const std::size_t ends = d.block.avs_shares_end.size() * sizeof(std::uint64_t);
  const std::size_t shares = d.block.avs_shares.size() * sizeof(AvsHolderShare);
  if (bytes.size() != sizeof header + doubles * sizeof(double) + ends + shares)
    throw bad("a result message has the wrong size");
  for (auto* v : block_vectors(d.block, weighted)) {
    if (v->empty()) continue;
    std::memcpy(v->data(), at, v->size() * sizeof(double));
    at += v->size() * sizeof(double);
  }
  if (ends > 0) std::memcpy(d.block.avs_shares_end.data(), at, ends);
  if (shares > 0) std::memcpy(d.block.avs_shares.data(), at + ends, shares);
  const auto& end = d.block.avs_shares_end;
  if (!std::is_sorted(end.begin(), end.end()) || (!end.empty() && end.back() != d.block.avs_shares.size()))
    throw bad("a result message's AVS x holder losses do not add up");
  return d;
}

}  // namespace restake
