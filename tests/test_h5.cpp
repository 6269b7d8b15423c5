#include "io/h5.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include <cmath>
#include <span>

namespace h5 = restake::h5;
namespace fs = std::filesystem;

namespace {

// A unique temp path, removed when the test ends.
struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& tag) {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("restake_test_h5_" + tag + "_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++) + ".h5");
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::string str() const { return path.string(); }
};

}  // namespace

TEST_CASE("h5: attributes round-trip on the root and on groups") {
  TempFile tmp("attrs");
  const std::string multi = "line one\nzweite Zeile: äöü ß\n第三行 — ε ≤ 1 ✓";
  {
    h5::File f = h5::File::create(tmp.str());
    f.set_attr("scenario", multi);
    f.set_attr("empty", std::string());
    f.set_attr("pi", 3.141592653589793);
    f.set_attr("delta", std::int64_t{-42});
    f.set_attr("seed", std::uint64_t{18446744073709551557ull});
    f.set_attr("small", 7);                    // plain int goes through the integral template
    f.set_attr("seed", std::uint64_t{12345});  // replacing an attribute is allowed
    h5::Group g = f.create_group("run");
    g.set_attr("label", "cap 10%");
    CHECK(f.exists("run"));
    CHECK_FALSE(f.exists("nope"));
    CHECK_FALSE(f.exists("nope/deeper"));
    f.flush();
  }
  h5::File f = h5::File::open_read_only(tmp.str());
  CHECK(f.attr_string("scenario") == multi);
  CHECK(f.attr_string("empty").empty());
  CHECK(f.attr_double("pi") == 3.141592653589793);
  CHECK(f.attr_int("delta") == -42);
  CHECK(f.attr_uint("seed") == 12345u);
  CHECK(f.attr_int("small") == 7);
  CHECK(f.attr_double("small") == 7.0);  // integers convert to double
  CHECK(f.open_group("run").attr_string("label") == "cap 10%");
  CHECK(f.root().attr_string("scenario") == multi);

  // Missing or mistyped attributes throw, naming the attribute.
  CHECK_THROWS_WITH_AS(f.attr_string("missing"), doctest::Contains("'missing'"), h5::Error);
  CHECK_THROWS_WITH_AS(f.attr_double("scenario"), doctest::Contains("'scenario'"), h5::Error);
  CHECK_THROWS_WITH_AS(f.attr_int("pi"), doctest::Contains("'pi'"), h5::Error);
  CHECK_THROWS_WITH_AS(f.attr_string("pi"), doctest::Contains("not a string"), h5::Error);
  CHECK_THROWS_AS(f.attr_uint("delta"), h5::Error);  // negative into unsigned
  CHECK_THROWS_WITH_AS(f.open_group("nope"), doctest::Contains("nope"), h5::Error);
}

TEST_CASE("h5: string datasets, including empty") {
  TempFile tmp("strings");
  const std::vector<std::string> names{"Lido", "", "EigenLayer operator #3", "ünïcødé\nsecond line"};
  {
    h5::File f = h5::File::create(tmp.str());
    f.write_strings("holders", names);
    f.write_strings("pools", {});
  }
  h5::File f = h5::File::open_read_only(tmp.str());
  CHECK(f.read_strings("holders") == names);
  CHECK(f.read_strings("pools").empty());
  CHECK(f.dims("pools") == std::vector<hsize_t>{0});
  CHECK_THROWS_AS(f.read_strings("missing"), h5::Error);
}

TEST_CASE("h5: n-D doubles and uint64s with units") {
  TempFile tmp("doubles");
  std::vector<double> v(2 * 3 * 4);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * static_cast<double>(i) - 3.0;
  const std::vector<std::uint64_t> counts{1, 2, 3, 18446744073709551615ull};
  {
    h5::File f = h5::File::create(tmp.str());
    h5::Group g = f.create_group("summary");
    g.write_doubles("loss", v, {2, 3, 4}, "ETH");
    g.write_doubles("nothing", {}, {0, 5});
    g.write_doubles("scalar", std::vector<double>{2.5}, {});
    g.write_uint64s("counts", counts, {2, 2}, "trials");
    CHECK_THROWS_WITH_AS(g.write_doubles("bad", v, {5, 5}), doctest::Contains("bad"), h5::Error);
    CHECK_THROWS_AS(g.write_doubles("loss", v, {2, 3, 4}), h5::Error);  // already exists
  }
  h5::File f = h5::File::open_read_only(tmp.str());
  h5::Group g = f.open_group("summary");
  std::vector<hsize_t> d;
  CHECK(g.read_doubles("loss", &d) == v);
  CHECK(d == std::vector<hsize_t>{2, 3, 4});
  CHECK(g.dataset_attr_string("loss", "units") == "ETH");
  CHECK(g.read_doubles("nothing", &d).empty());
  CHECK(d == std::vector<hsize_t>{0, 5});
  CHECK_THROWS_AS(g.dataset_attr_string("nothing", "units"), h5::Error);  // no unit given
  CHECK(g.read_doubles("scalar", &d) == std::vector<double>{2.5});
  CHECK(d.empty());
  CHECK(g.read_uint64s("counts") == counts);
  CHECK(g.dims("counts") == std::vector<hsize_t>{2, 2});
  CHECK(g.dataset_attr_string("counts", "units") == "trials");
  CHECK(f.exists("summary/loss"));
}

TEST_CASE("h5: RowAppender grows a [rows, 2, 3] dataset and read_column reads it back in slabs") {
  TempFile tmp("append");
  const hsize_t width = 2 * 3;
  auto value = [](hsize_t row, hsize_t col) {
    return static_cast<double>(row) * 100.0 + static_cast<double>(col);
  };
  const std::vector<hsize_t> blocks{5, 1, 11};
  hsize_t total = 0;
  {
    h5::File f = h5::File::create(tmp.str());
    h5::Group g = f.create_group("trials");
    h5::RowAppender app(g, "loss", {2, 3}, /*chunk_rows=*/4, /*deflate_level=*/4, "ETH");
    CHECK(app.rows() == 0);
    for (hsize_t n : blocks) {
      std::vector<double> block(n * width);
      for (hsize_t r = 0; r < n; ++r)
        for (hsize_t c = 0; c < width; ++c) block[r * width + c] = value(total + r, c);
      app.append(block, n);
      total += n;
      CHECK(app.rows() == total);
    }
    app.append({}, 0);  // no-op
    CHECK(app.rows() == total);
    CHECK_THROWS_AS(app.append(std::vector<double>(5), 1), h5::Error);  // wrong size
  }
  h5::File f = h5::File::open_read_only(tmp.str());
  h5::Group g = f.open_group("trials");
  CHECK(g.dims("loss") == std::vector<hsize_t>{total, 2, 3});
  CHECK(g.dataset_attr_string("loss", "units") == "ETH");
  for (hsize_t col : {hsize_t{0}, hsize_t{2}, hsize_t{3}, hsize_t{5}}) {
    for (hsize_t per_read : {hsize_t{1}, hsize_t{4}, hsize_t{7}, hsize_t{1000}}) {
      CAPTURE(col);
      CAPTURE(per_read);
      const std::vector<double> got = g.read_column("loss", col, per_read);
      REQUIRE(got.size() == total);
      for (hsize_t r = 0; r < total; ++r) CHECK(got[r] == value(r, col));
    }
  }
  const std::vector<double> all = g.read_doubles("loss");
  REQUIRE(all.size() == total * width);
  CHECK(all[16 * width + 4] == value(16, 4));
  CHECK_THROWS_WITH_AS(g.read_column("loss", width), doctest::Contains("out of range"), h5::Error);
}

TEST_CASE("h5: chunks filtered on any thread and written whole read back as HDF5's own, at any deflate level") {
  const hsize_t width = 2 * 3, chunk = 4;
  auto value = [](hsize_t row, hsize_t col) { return std::sin(static_cast<double>(row * 7 + col)) * 1e3; };
  for (const int level : {0, 1, 9}) {
    CAPTURE(level);
    TempFile tmp("filtered");
    {
      h5::File f = h5::File::create(tmp.str());
      h5::Group g = f.create_group("trials");
      h5::RowAppender app(g, "loss", {2, 3}, chunk, level, "ETH");
      h5::RowAppender plain(g, "plain", {2, 3}, chunk, level, "ETH");  // the same rows through H5Dwrite
      CHECK(app.chunk_rows() == chunk);
      CHECK(app.row_size() == width);
      std::vector<double> rows(11 * width);
      for (hsize_t r = 0; r < 11; ++r)
        for (hsize_t c = 0; c < width; ++c) rows[r * width + c] = value(r, c);
      for (hsize_t k = 0; k < 2; ++k)  // two whole chunks, then the rest the usual way
        app.append_filtered_chunk(app.filter_chunk(std::span<const double>(rows).subspan(k * chunk * width, chunk * width)));
      CHECK(app.rows() == 2 * chunk);
      app.append(std::span<const double>(rows).subspan(2 * chunk * width), 3);
      plain.append(rows, 11);
      CHECK_THROWS_AS(app.append_filtered_chunk(app.filter_chunk(std::span<const double>(rows).subspan(0, chunk * width))),
                      h5::Error);  // row 11 is no chunk boundary
      CHECK_THROWS_AS(app.filter_chunk(std::span<const double>(rows).subspan(0, width)), h5::Error);  // not a chunk
    }
    h5::File f = h5::File::open_read_only(tmp.str());
    h5::Group g = f.open_group("trials");
    CHECK(g.dims("loss") == std::vector<hsize_t>{11, 2, 3});
    CHECK(g.read_doubles("loss") == g.read_doubles("plain"));
    CHECK(g.read_column("loss", 4, 3) == g.read_column("plain", 4, 3));
  }
}

TEST_CASE("h5: RowAppender with a zero trailing dim and a 1-D dataset") {
  TempFile tmp("zero");
  {
    h5::File f = h5::File::create(tmp.str());
    h5::RowAppender none(f, "pool_loss", {3, 0}, 8, 6);
    none.append({}, 4);
    none.append({}, 2);
    CHECK(none.rows() == 6);
    h5::RowAppender flat(f, "total", {}, 2, 0);  // 1-D, uncompressed
    flat.append(std::vector<double>{1, 2, 3}, 3);
    flat.append(std::vector<double>{4}, 1);
  }
  h5::File f = h5::File::open_read_only(tmp.str());
  CHECK(f.dims("pool_loss") == std::vector<hsize_t>{6, 3, 0});
  CHECK(f.read_doubles("pool_loss").empty());
  CHECK(f.read_column("total", 0, 3) == std::vector<double>{1, 2, 3, 4});
  CHECK(f.read_doubles("total") == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("h5: opening a missing or non-HDF5 file throws h5::Error") {
  TempFile tmp("garbage");
  {
    std::ofstream out(tmp.path);
    out << "this is not an HDF5 file\n";
  }
  const std::string expected = "cannot open HDF5 file " + tmp.str();
  CHECK_THROWS_WITH_AS(h5::File::open_read_only(tmp.str()), doctest::Contains(expected.c_str()), h5::Error);
  TempFile missing("missing");
  CHECK_THROWS_AS(h5::File::open_read_only(missing.str()), h5::Error);
  CHECK_THROWS_AS(h5::File::create("/nonexistent-dir/x.h5"), h5::Error);
}

TEST_CASE("h5: error paths leave no HDF5 object open") {
  TempFile tmp("leaks");
  {
    h5::File f = h5::File::create(tmp.str());
    f.write_doubles("x", std::vector<double>{1, 2}, {2}, "ETH");
    CHECK_THROWS_AS(f.attr_string("missing"), h5::Error);
    CHECK_THROWS_AS(f.read_strings("x"), h5::Error);
    CHECK_THROWS_AS(f.write_doubles("x", std::vector<double>{1}, {1}), h5::Error);
    CHECK_THROWS_AS(f.dataset_attr_string("x", "nope"), h5::Error);
    CHECK_THROWS_AS(h5::RowAppender(f, "x", {2}, 4, 4), h5::Error);
  }
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0);
}

TEST_CASE("h5: ColumnReader gives read_column's columns, datasets read whole within what is left of its budget and a column at a time beyond it") {
  TempFile tmp("column_reader");
  h5::File f = h5::File::create(tmp.str());
  const std::size_t rows = 1000;
  std::vector<double> a(rows * 3), b(rows * 2), c(rows);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = 0.5 * static_cast<double>(i);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = -static_cast<double>(i);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = 1.0 / static_cast<double>(i + 1);
  {
    h5::RowAppender ra(f, "a", {3}, 128, 1), rb(f, "b", {2}, 128, 1), rc(f, "c", {}, 128, 1);
    ra.append(a, rows);
    rb.append(b, rows);
    rc.append(c, rows);
  }
  const auto same_as_read_column = [&](h5::ColumnReader& r, const std::string& name, std::size_t width) {
    for (std::size_t k = 0; k < width; ++k) CHECK(r.column(name, k) == f.read_column(name, k));
  };
  // Room for every dataset: each is read once and held.
  h5::ColumnReader roomy(f);
  same_as_read_column(roomy, "a", 3);
  same_as_read_column(roomy, "b", 2);
  same_as_read_column(roomy, "c", 1);
  CHECK(roomy.held_bytes() == (a.size() + b.size() + c.size()) * sizeof(double));
  // Room for a alone: a is held, b (asked in turn with it) read a column at a time.
  h5::ColumnReader one(f, a.size() * sizeof(double));
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(one.column("a", k) == f.read_column("a", k));
    CHECK(one.column("b", k) == f.read_column("b", k));
  }
  CHECK(one.held_bytes() == a.size() * sizeof(double));
  same_as_read_column(one, "a", 3);
  // No room: column by column, nothing held.
  h5::ColumnReader none(f, 8);
  same_as_read_column(none, "a", 3);
  CHECK(none.held_bytes() == 0);
  CHECK_THROWS_WITH_AS(roomy.column("a", 3), doctest::Contains("out of range"), h5::Error);
}
