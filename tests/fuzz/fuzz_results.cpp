// libFuzzer: bytes as a results file -> read_summary (every shape checked, then the data) -> the
// summary's table and JSON, as `summary` prints them. Only the documented std::runtime_error
// (h5::Error among them) may come out.
#include <stdexcept>

#include "fuzz_support.hpp"
#include "io/results.hpp"
#include "stats/summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const restake::fuzz::ScratchDir scratch;
  const std::string path = scratch.write("results.h5", data, size);
  try {
    const restake::RunSummary s = restake::read_summary(path);
    (void)restake::format_summary_table(s);
    (void)restake::format_summary_json(s);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
