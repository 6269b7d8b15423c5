#pragma once
// Small RAII layer over the HDF5 C API for writing and reading results files.
// Every hid_t lives in a Handle and is closed by its destructor; every failing
// HDF5 call becomes a restake::h5::Error naming the object (file:/path/name).
#include <concepts>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <hdf5.h>

namespace restake::h5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Move-only owner of one hid_t and the H5?close function that releases it.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept { (void)close(); }  // close errors cannot be reported from a destructor
  // Closes now and returns the closer's result, for callers that must know it succeeded.
  herr_t close() noexcept {
    const herr_t r = id_ >= 0 && close_ != nullptr ? close_(id_) : 0;
    id_ = H5I_INVALID_HID;
    return r;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// A location (group or file root) holding attributes, groups and datasets.
class Group {
 public:
  explicit Group(Handle h) : h_(std::move(h)) {}
  hid_t id() const { return h_.id(); }

  Group create_group(const std::string& name) const;
  Group open_group(const std::string& name) const;
  bool exists(const std::string& name) const;  // a link of that name exists here

  // Scalar attributes; an existing attribute of the same name is replaced.
  // Strings are variable-length UTF-8, so h5py reads them as str.
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, const char* value) const { set_attr(name, std::string(value)); }
  void set_attr(const std::string& name, double value) const;
  void set_attr(const std::string& name, std::int64_t value) const;
  void set_attr(const std::string& name, std::uint64_t value) const;
  // Other integer types (int, unsigned, ...) would be ambiguous between the overloads above.
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  void set_attr(const std::string& name, T value) const {
    if constexpr (std::is_signed_v<T>) set_attr(name, static_cast<std::int64_t>(value));
    else set_attr(name, static_cast<std::uint64_t>(value));
  }
  std::string attr_string(const std::string& name) const;  // throws if missing or not a string
  double attr_double(const std::string& name) const;       // accepts float or integer attributes
  std::int64_t attr_int(const std::string& name) const;    // integer attributes only
  std::uint64_t attr_uint(const std::string& name) const;  // integer attributes only
  bool has_attr(const std::string& name) const;

  // Small whole datasets (contiguous, uncompressed). dims are row-major; empty dims = scalar;
  // zero-size dims are allowed. data.size() must equal the product of dims.
  // `dims` (default: one axis) must multiply to values.size(); values are in row-major order.
  void write_strings(const std::string& name, const std::vector<std::string>& values, std::vector<hsize_t> dims = {}) const;
  std::vector<std::string> read_strings(const std::string& name) const;
  void write_doubles(const std::string& name, std::span<const double> data,
                     const std::vector<hsize_t>& dims, const std::string& unit = "") const;
  void write_uint64s(const std::string& name, std::span<const std::uint64_t> data,
                     const std::vector<hsize_t>& dims, const std::string& unit = "") const;
  std::vector<double> read_doubles(const std::string& name, std::vector<hsize_t>* dims_out = nullptr) const;
  std::vector<std::uint64_t> read_uint64s(const std::string& name,
                                          std::vector<hsize_t>* dims_out = nullptr) const;
  std::vector<hsize_t> dims(const std::string& dataset) const;
  bool holds_strings(const std::string& dataset) const;
  // Every dataset below this group, at any depth, as paths relative to it, sorted.
  std::vector<std::string> datasets() const;
  std::string dataset_attr_string(const std::string& dataset, const std::string& attr) const;
  void set_dataset_attr(const std::string& dataset, const std::string& attr, const std::string& value) const;

  // All rows of one "column" of a dataset shaped [rows, ...rest]: flat_index is a row-major
  // index into rest. Reads at most rows_per_read rows per H5Dread to bound temporary memory.
  std::vector<double> read_column(const std::string& name, hsize_t flat_index,
                                  hsize_t rows_per_read = hsize_t{1} << 16) const;
  // Rows [first_row, first_row + rows) of a dataset shaped [rows, ...rest], row-major.
  std::vector<double> read_rows(const std::string& name, hsize_t first_row, hsize_t rows) const;
  // Copies the object `name` (a group with everything in it, or a dataset, layout and filters
  // included) to `dest_name` in `dest`, which may be in another file.
  void copy(const std::string& name, const Group& dest, const std::string& dest_name) const;

  // HDF5 dimension scales (H5DS): the 1-D dataset `scale` (e.g. holders/names) becomes a scale
  // called `scale_name` if it is not one yet, and labels axis `axis` of `dataset`.
  void attach_scale(const std::string& dataset, const std::string& scale, const std::string& scale_name,
                    unsigned axis) const;
  void label_axis(const std::string& dataset, unsigned axis, const std::string& label) const;

 protected:
  Handle& handle() { return h_; }

 private:
  Handle h_;
};

// Columns of datasets shaped [rows, ...rest] (Group::read_column), asked one after another. A column
// read alone inflates its whole dataset and walks a strided selection, so a dataset that fits in
// what is left of `budget` bytes is read once, whole, and its columns copied out of memory; any
// other is read a column at a time. `g` must outlive it; one thread; datasets must not grow meanwhile.
class ColumnReader {
 public:
  explicit ColumnReader(const Group& g, std::size_t budget = std::size_t{256} << 20) : g_(g), budget_(budget) {}
  std::vector<double> column(const std::string& name, hsize_t flat_index);
  std::size_t held_bytes() const { return held_; }

 private:
  struct Whole {
    std::vector<double> values;  // row-major rows x width
    std::size_t rows = 0, width = 0;
  };
  const Group& g_;
  std::size_t budget_;
  std::map<std::string, Whole> whole_;
  std::size_t held_ = 0;  // bytes in whole_
};

// An HDF5 file; as a Group it is the root group "/".
class File : public Group {
 public:
  static File create(const std::string& path);          // truncates an existing file
  static File open_read_only(const std::string& path);  // throws "cannot open HDF5 file <path>"
  Group root() const { return open_group("/"); }
  void flush() const;
  // Closes the file, throwing h5::Error naming it if HDF5 reports a failure (the file may then be
  // incomplete on disk) or if a dataset, group or attribute of it is still open (HDF5 would only
  // mark the file for closing). The destructor closes too but cannot report.
  void close();
  const std::string& path() const { return path_; }

 private:
  File(Handle h, std::string path) : Group(std::move(h)), path_(std::move(path)) {}
  std::string path_;
};

// HDF5 closes itself at exit (an atexit handler), which crashes (SIGSEGV) in HDF5 1.10 after a
// file failed to close (a full disk): the failed H5Fclose leaves the file in HDF5's table, its
// memory freed. A program calls take_over_library_shutdown() before any other HDF5 call, and
// close_library() when it ends: that closes the library, unless a file failed to close, in which
// case it is left to the operating system (returns false; nothing of a file is written then).
void take_over_library_shutdown();
bool close_library();

// A chunked, compressed dataset of doubles growing along dimension 0 (e.g. trials), with fixed
// trailing dims (may be empty for 1-D, may contain 0). Chunks are chunk_rows x trailing dims.
// deflate_level 1..9 enables shuffle + deflate; 0 stores uncompressed.
class RowAppender {
 public:
  RowAppender(const Group& where, const std::string& name, std::vector<hsize_t> trailing_dims,
              hsize_t chunk_rows, int deflate_level, const std::string& unit = "");
  // data is row-major rows x product(trailing dims).
  void append(std::span<const double> data, hsize_t rows);
  hsize_t rows() const { return rows_; }
  hsize_t row_size() const { return row_size_; }
  hsize_t chunk_rows() const { return chunk_rows_; }
  // A whole chunk of rows [rows(), rows() + chunk_rows()) whose bytes went through the dataset's
  // filters already (filter_chunk): written as they are, so that chunks can be compressed on
  // many threads and only written on one (HDF5 runs its filters on the writing thread).
  void append_filtered_chunk(std::span<const unsigned char> bytes);
  // What the dataset's filters make of a chunk of `values`: shuffled, then a zlib stream its deflate
  // filter reads (at level 1 by run-length matching: faster, and here smaller); the values' bytes as
  // they are at level 0. Thread-safe: touches no HDF5 state.
  std::vector<unsigned char> filter_chunk(std::span<const double> values) const;

 private:
  Handle ds_;
  std::vector<hsize_t> trailing_;
  hsize_t row_size_ = 1;  // product of trailing dims
  hsize_t rows_ = 0;
  hsize_t chunk_rows_ = 1;
  int deflate_level_ = 0;
  std::string location_;  // for filter_chunk's errors, raised on threads that must not call HDF5
};

}  // namespace restake::h5
