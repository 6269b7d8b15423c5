// h5_same_data A.h5 B.h5: exit status 0 when the two HDF5 files hold the same data bit for bit:
// every dataset (values, shape, type, storage layout, chunks, filters) and every attribute, except
// created_utc (the time of writing). Used by the MPI sweep tests (tests/CMakeLists.txt); the same
// comparison as same_file() in test_sweep_shards.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "h5.hpp"

using namespace restake;

namespace {

using Dump = std::map<std::string, std::string>;

std::string raw_bytes(hid_t obj, bool attribute) {
  const h5::Handle type(attribute ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose);
  const h5::Handle space(attribute ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose);
  const h5::Handle native(H5Tget_native_type(type.id(), H5T_DIR_ASCEND), H5Tclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  std::string bytes(static_cast<std::size_t>(n) * H5Tget_size(native.id()), '\0');
  const herr_t r = bytes.empty() ? 0
                   : attribute   ? H5Aread(obj, native.id(), bytes.data())
                                 : H5Dread(obj, native.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  if (r < 0) throw std::runtime_error("cannot read");
  return fmt::format("class {} size {}: ", static_cast<int>(H5Tget_class(type.id())), H5Tget_size(type.id())) + bytes;
}

bool is_string(hid_t type) { return H5Tget_class(type) == H5T_STRING; }

void dump_attributes(const h5::Group& g, const std::string& path, Dump& out) {
  struct Ctx {
    const h5::Group* g;
    std::string path;
    Dump* out;
  } ctx{&g, path, &out};
  H5Aiterate2(
      g.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t loc, const char* name, const H5A_info_t*, void* data) -> herr_t {
        auto& c = *static_cast<Ctx*>(data);
        const h5::Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
        const h5::Handle type(H5Aget_type(attr.id()), H5Tclose);
        (*c.out)[c.path + "@" + name] = is_string(type.id()) ? c.g->attr_string(name) : raw_bytes(attr.id(), true);
        return 0;
      },
      &ctx);
}

void dump_group(const h5::Group& g, const std::string& path, Dump& out) {
  dump_attributes(g, path, out);
  H5G_info_t info;
  if (H5Gget_info(g.id(), &info) < 0) throw std::runtime_error("cannot list " + path);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256];
    if (H5Lget_name_by_idx(g.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) <= 0)
      throw std::runtime_error("cannot list " + path);
    const std::string child = path + "/" + name;
    h5::Handle obj(H5Oopen(g.id(), name, H5P_DEFAULT), H5Oclose);
    if (H5Iget_type(obj.id()) == H5I_GROUP) {
      dump_group(h5::Group(std::move(obj)), child, out);
      continue;
    }
    const h5::Handle type(H5Dget_type(obj.id()), H5Tclose);
    std::string value = fmt::format("dims [{}] ", fmt::join(g.dims(name), ", "));
    if (is_string(type.id())) {
      for (const auto& s : g.read_strings(name)) value += s + '\0';
    } else {
      value += raw_bytes(obj.id(), false);
    }
    const h5::Handle dcpl(H5Dget_create_plist(obj.id()), H5Pclose);
    hsize_t chunk[8] = {};
    const int rank = H5Pget_layout(dcpl.id()) == H5D_CHUNKED ? H5Pget_chunk(dcpl.id(), 8, chunk) : 0;
    value += fmt::format(" layout {} chunk [{}] filters {}", static_cast<int>(H5Pget_layout(dcpl.id())),
                         fmt::join(chunk, chunk + std::max(rank, 0), ", "), H5Pget_nfilters(dcpl.id()));
    out[child] = value;
    dump_attributes(h5::Group(std::move(obj)), child, out);
  }
}

Dump dump_file(const std::string& path) {
  const h5::File f = h5::File::open_read_only(path);
  Dump out;
  dump_group(f, "", out);
  return out;
}

}  // namespace

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
