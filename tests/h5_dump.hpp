#pragma once
// A bit-for-bit dump of an HDF5 file, path -> text: every dataset (values, shape, type, storage
// layout, chunks, filters) and every attribute. Two files hold the same data when their dumps are
// equal (created_utc aside). Shared by tests/test_sweep_shards.cpp and tests/h5_same_data.cpp.
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5_hl.h>

#include "io/h5.hpp"

namespace restake::test {

using Dump = std::map<std::string, std::string>;

inline std::string raw_bytes(hid_t obj, bool attribute) {
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

inline bool is_string(hid_t type) { return H5Tget_class(type) == H5T_STRING; }

// The scales attached to each axis of a dataset, by path: DIMENSION_LIST itself holds object
// references, whose bytes are addresses in memory.
inline std::string attached_scales(hid_t dataset) {
  const h5::Handle space(H5Dget_space(dataset), H5Sclose);
  std::string out;
  for (int axis = 0; axis < H5Sget_simple_extent_ndims(space.id()); ++axis) {
    out += fmt::format("axis {}:", axis);
    H5DSiterate_scales(
        dataset, static_cast<unsigned>(axis), nullptr,
        [](hid_t, unsigned, hid_t scale, void* data) -> herr_t {
          char name[256] = {};
          H5Iget_name(scale, name, sizeof name);
          *static_cast<std::string*>(data) += std::string(" ") + name;
          return 0;
        },
        &out);
    out += ';';
  }
  return out;
}

inline std::string axis_labels(hid_t dataset) {
  const h5::Handle space(H5Dget_space(dataset), H5Sclose);
  std::string out;
  for (int axis = 0; axis < H5Sget_simple_extent_ndims(space.id()); ++axis) {
    char label[256] = {};
    H5DSget_label(dataset, static_cast<unsigned>(axis), label, sizeof label);
    out += std::string(label) + ';';
  }
  return out;
}

inline void dump_attributes(const h5::Group& g, const std::string& path, Dump& out) {
  struct Ctx {
    const h5::Group* g;
    std::string path;
    Dump* out;
  } ctx{&g, path, &out};
  H5Aiterate2(
      g.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t loc, const char* name, const H5A_info_t*, void* data) -> herr_t {
        auto& c = *static_cast<Ctx*>(data);
        const std::string attr_name = name;
        // The dimension scales' bookkeeping: dumped as the scales each axis has (REFERENCE_LIST is
        // its mirror image on the scale).
        if (attr_name == "REFERENCE_LIST") return 0;
        if (attr_name == "DIMENSION_LIST") {
          (*c.out)[c.path + "@" + name] = attached_scales(loc);
          return 0;
        }
        if (attr_name == "DIMENSION_LABELS") {  // an array of strings, one per axis
          (*c.out)[c.path + "@" + name] = axis_labels(loc);
          return 0;
        }
        const h5::Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
        const h5::Handle type(H5Aget_type(attr.id()), H5Tclose);
        (*c.out)[c.path + "@" + name] = is_string(type.id()) ? c.g->attr_string(name) : raw_bytes(attr.id(), true);
        return 0;
      },
      &ctx);
}

inline void dump_group(const h5::Group& g, const std::string& path, Dump& out) {
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

inline Dump dump_file(const std::string& path) {
  const h5::File f = h5::File::open_read_only(path);
  Dump out;
  dump_group(f, "", out);
  return out;
}

}  // namespace restake::test
