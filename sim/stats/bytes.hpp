#pragma once
// Plain values and vectors of them as bytes, in this machine's layout: for partial tallies sent
// between the processes of one run (stats/tally_codec.hpp), which run the same binary.
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace restake {

struct ByteWriter {
  std::vector<char> bytes;
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const std::size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  // Its length, then its elements.
  template <class T>
  void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(v.size());
    const std::size_t at = bytes.size();
    bytes.resize(at + v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(bytes.data() + at, v.data(), v.size() * sizeof(T));
  }
};

// Reads what a ByteWriter wrote, in the same order; running past the end is a std::runtime_error
// naming `what` (a message cut short, or of another kind).
struct ByteReader {
  const char* at;
  const char* end;
  const char* what;
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(end - at) / sizeof(T)) need(end - at + 1);
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n > 0) std::memcpy(v.data(), at, v.size() * sizeof(T));
    at += v.size() * sizeof(T);
    return v;
  }
  // A vector of a known length: another length is a message of another run.
  template <class T>
  void get_into(std::vector<T>& v) {
    std::vector<T> got = get_vector<T>();
    if (got.size() != v.size())
      throw std::runtime_error(std::string(what) + ": " + std::to_string(got.size()) + " values where " + std::to_string(v.size()) +
                               " were expected");
    v = std::move(got);
  }
  void need(std::size_t n) const {
    if (n > static_cast<std::size_t>(end - at)) throw std::runtime_error(std::string(what) + ": the message is cut short");
  }
  bool done() const { return at == end; }
};

}  // namespace restake
