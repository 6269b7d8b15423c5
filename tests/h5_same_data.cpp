// h5_same_data A.h5 B.h5: exit status 0 when the two HDF5 files hold the same data bit for bit:
// every dataset (values, shape, type, storage layout, chunks, filters) and every attribute, except
// created_utc (the time of writing). Used by the MPI sweep tests (tests/CMakeLists.txt); the same
// comparison as same_file() in test_sweep_shards.cpp (both use h5_dump.hpp).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "h5_dump.hpp"

using namespace restake::test;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: h5_same_data A.h5 B.h5\n");
    return 2;
  }
  try {
    Dump a = dump_file(argv[1]), b = dump_file(argv[2]);
    a.erase("@created_utc");
    b.erase("@created_utc");
    std::set<std::string> keys;
    for (const auto& [k, v] : a) keys.insert(k);
    for (const auto& [k, v] : b) keys.insert(k);
    int differences = 0;
    for (const auto& k : keys) {
      const auto ia = a.find(k), ib = b.find(k);
      if (ia == a.end() || ib == b.end() || ia->second != ib->second) {
        std::fprintf(stderr, "differs: %s%s\n", k.c_str(),
                     ia == a.end() ? " (only in B)" : ib == b.end() ? " (only in A)" : "");
        ++differences;
      }
    }
    if (a.size() < 40) {
      std::fprintf(stderr, "%s: only %zu objects, not a sweep file\n", argv[1], a.size());
      return 1;
    }
    std::printf("%zu datasets and attributes compared, %d differ\n", keys.size(), differences);
    return differences == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
