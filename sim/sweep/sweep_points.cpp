#include "sweep/sweep_points.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/output_helpers.hpp"
#include "io/outputs.hpp"
#include "stats/quantile_sketch.hpp"

namespace fs = std::filesystem;

namespace restake {

namespace {

constexpr const char* kOwnAsset = "units of the entity's asset";

void write_identity(const h5::Group& g, const SweepIdentity& id) {
  g.set_attr("program_version", id.program_version);
  g.set_attr("git_commit", id.git_commit);
  g.set_attr("sweep_path", id.sweep_path);
  g.set_attr("sweep_text", id.sweep_text);
  g.set_attr("scenario_text", id.scenario_text);
  g.set_attr("seed", id.seed);
  g.set_attr("trials", id.trials);
  g.set_attr("records", std::int64_t{id.records ? 1 : 0});
  g.set_attr("deflate_level", std::int64_t{id.deflate_level});
  if (id.tilt.active()) write_tilt(g, id.tilt);  // a plain sweep's parts stay as they were
}

SweepIdentity read_identity(const h5::Group& g) {
  SweepIdentity id;
  id.program_version = g.attr_string("program_version");
  id.git_commit = g.attr_string("git_commit");
  id.sweep_path = g.attr_string("sweep_path");
  id.sweep_text = g.attr_string("sweep_text");
  id.scenario_text = g.attr_string("scenario_text");
  id.seed = g.attr_uint("seed");
  id.trials = g.attr_uint("trials");
  id.records = g.attr_int("records") != 0;
  id.deflate_level = static_cast<int>(g.attr_int("deflate_level"));
  id.tilt = read_tilt_if_weighted(g);
  return id;
}

// One point's result in group `g`: its summaries as declared (io/schema.hpp), in the layout of a
// results file, and the numbers of its model a sweep may change. The records go to g/trials.
void write_result(const h5::Group& g, const PointResult& r) {
  const std::array runs{&r.summary};
  write_summaries(g, runs, false, false);
  g.write_doubles("holder_value", r.holder_value, {r.holder_value.size()}, kOwnAsset);
  g.write_doubles("pool_balance", r.pool_balance, {r.pool_balance.size()}, kOwnAsset);
  g.write_doubles("usd_price", r.usd_price, {r.usd_price.size()}, "USD per unit (NaN: not given)");
  const double horizon[] = {r.horizon_days};
  g.write_doubles("horizon_days", horizon, {}, "days");
}

std::string list_points(const std::vector<std::size_t>& points) {
  constexpr std::size_t kShown = 20;
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < points.size() && i < kShown; ++i) shown.push_back(std::to_string(points[i]));
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (points.size() > kShown) out += fmt::format(" and {} more", points.size() - kShown);
  return out;
}

// Every dataset a point's group holds in a part of the sweep whose point 0 is `first`, with its
// shape: the declared summaries, the model numbers a sweep may change, and with records the
// per-trial records.
std::map<std::string, std::vector<hsize_t>> point_datasets(const Model& first, const SweepIdentity& id) {
  const Extents e = Extents::of(RecordShape::of(first), id.trials);
  std::map<std::string, std::vector<hsize_t>> out;
  const Presence present = Presence::of(RecordShape::of(first), id.tilt.active());
  for (const SummarySpec* s : summaries(present)) out[s->out.path] = h5_dims(s->out.shape.dims(), e);
  if (id.records)
    for (const TrialRecordSpec* r : trial_records(present)) out[r->out.path] = h5_dims(r->out.shape.dims(), e);
  out["holder_value"] = {first.holders.size()};
  out["pool_balance"] = {first.coverage_pools.size()};
  out["usd_price"] = {kAssetCount};
  out["horizon_days"] = {};
  return out;
}

}  // namespace

// FNV-1a (64 bits): it finds a part changed after it was written (by hand or by a damaged disk);
// kept in the file itself, no digest could stop someone who recomputes it, so a fast
// non-cryptographic one serves.
std::string point_data_digest(const h5::Group& g, std::size_t index) {
  std::uint64_t h = 14695981039346656037ull;
  const auto add = [&h](const void* data, std::size_t bytes) {
    for (const unsigned char* b = static_cast<const unsigned char*>(data); bytes-- > 0; ++b) {
      h ^= *b;
      h *= 1099511628211ull;
    }
  };
  const auto add_number = [&add](std::uint64_t v) { add(&v, sizeof v); };
  add_number(index);
  for (const std::string& name : g.datasets()) {
    add(name.c_str(), name.size() + 1);
    const std::vector<hsize_t> dims = g.dims(name);
    add_number(dims.size());
    for (const hsize_t d : dims) add_number(d);
    if (g.holds_strings(name)) {
      for (const std::string& v : g.read_strings(name)) add(v.c_str(), v.size() + 1);
    } else if (dims.empty()) {
      const std::vector<double> v = g.read_doubles(name);
      add(v.data(), v.size() * sizeof(double));
    } else {
      // Records may be large: a chunk's worth of rows at a time.
      const hsize_t step = detail::chunk_trials(std::accumulate(dims.begin() + 1, dims.end(), hsize_t{1}, std::multiplies<>()));
      for (hsize_t first = 0; first < dims[0]; first += step) {
        const std::vector<double> v = g.read_rows(name, first, std::min<hsize_t>(step, dims[0] - first));
        add(v.data(), v.size() * sizeof(double));
      }
    }
  }
  return fmt::format("fnv1a64:{:016x}", h);
}

// ---- SweepIdentity ----

std::string SweepIdentity::difference(const SweepIdentity& o) const {
  std::vector<std::string> d;
  if (sweep_text != o.sweep_text) d.emplace_back("the sweep text");
  if (scenario_text != o.scenario_text) d.emplace_back("the scenario text");
  if (seed != o.seed) d.push_back(fmt::format("the seed ({} vs {})", seed, o.seed));
  if (trials != o.trials) d.push_back(fmt::format("the trials ({} vs {})", trials, o.trials));
  if (records != o.records) d.push_back(fmt::format("--records ({} vs {})", records ? "on" : "off", o.records ? "on" : "off"));
  if (program_version != o.program_version)
    d.push_back(fmt::format("the program version ({} vs {})", program_version, o.program_version));
  if (git_commit != o.git_commit) d.push_back(fmt::format("the git commit ({} vs {})", git_commit, o.git_commit));
  if (tilt.active() != o.tilt.active())
    d.push_back(fmt::format("the estimator ({} vs {})", tilt.active() ? "importance sampling" : "plain Monte Carlo",
                            o.tilt.active() ? "importance sampling" : "plain Monte Carlo"));
  else if (tilt.rate_factor != o.tilt.rate_factor || tilt.size_exponent != o.tilt.size_exponent || tilt.sources != o.tilt.sources || tilt.defensive != o.tilt.defensive)
    d.emplace_back("the importance-sampling tilt");
  return fmt::format("{}", fmt::join(d, ", "));
}

SweepMeta SweepIdentity::meta() const { return {program_version, git_commit, sweep_path, seed, trials, tilt}; }

double SweepIdentity::sketch_accuracy(const Model& first) const {
  return records ? 0.0 : default_sketch_accuracy(first.holders.size());  // --records keeps the columns
}

SweepWriterOptions SweepIdentity::writer_options(const Model& first) const {
  SweepWriterOptions o;
  o.records = records;
  o.deflate_level = deflate_level;
  o.quantile_relative_error = sketch_accuracy(first);
  return o;
}

// ---- shards ----

ShardSpec parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  auto number = [&](std::string_view s, std::size_t& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  ShardSpec s;
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) || !number(text.substr(slash + 1), s.count))
    throw std::invalid_argument(fmt::format("'{}': expected i/N, e.g. 0/4 (shard i of N, 0 <= i < N)", text));
  if (s.count < 1) throw std::invalid_argument(fmt::format("'{}': N must be at least 1", text));
  if (s.index >= s.count)
    throw std::invalid_argument(
        fmt::format("'{}': i must be below N (shards are numbered 0 to {})", text, s.count - 1));
  return s;
}

std::vector<std::size_t> shard_points(std::size_t points, const ShardSpec& shard) {
  std::vector<std::size_t> out;
  for (std::size_t p = shard.index; p < points; p += shard.count) out.push_back(p);
  return out;
}

std::string progress_folder(const std::string& output) { return output + ".partial-points"; }

// ---- OutputLock ----

OutputLock::OutputLock(const std::string& output) : path_(progress_folder(output) + ".lock") {
  // The holder removes the file before releasing it, so a lock taken on a file that is no longer
  // under the name protects nothing: take it again on the file now there.
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error(fmt::format("cannot create the lock file {}: {}", path_, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string pid(32, '\0');
      const ssize_t n = ::pread(fd_, pid.data(), pid.size(), 0);
      pid.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) throw std::runtime_error(fmt::format("cannot lock {}: {}", path_, std::strerror(err)));
      throw std::runtime_error(fmt::format(
          "another sweep (pid {}) is writing {}; wait for it to end, or give this one another -o",
          pid.empty() ? "unknown" : pid, output));
    }
    struct stat held {}, named {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev)
      break;
    ::close(fd_);
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    spdlog::debug("could not write the pid into {}", path_);  // the lock itself holds
}

OutputLock::~OutputLock() {
  ::unlink(path_.c_str());
  ::close(fd_);
}

// ---- PointFileWriter ----

struct PointFileWriter::Impl {
  AtomicFile out;  // first: removes the temporary after everything below has closed it
  std::size_t point;
  std::optional<h5::File> file;
  std::optional<h5::Group> group;
  std::vector<h5::RowAppender> records;
  Impl(const std::string& path, std::size_t p) : out(path), point(p) {}
};

PointFileWriter::PointFileWriter(const std::string& folder, std::size_t point, const SweepIdentity& id, const Model& m)
    : impl_(std::make_unique<Impl>((fs::path(folder) / fmt::format("point-{}.h5", point)).string(), point)) {
  Impl& d = *impl_;
  d.file.emplace(h5::File::create(d.out.path()));
  d.file->set_attr("file_type", kSweepPointFileType);
  d.file->set_attr("format_version", kSweepShardFormatVersion);
  write_identity(*d.file, id);
  d.file->set_attr("point", static_cast<std::uint64_t>(point));
  d.group.emplace(d.file->create_group("point"));
  if (!id.records) return;
  d.group->create_group("trials");
  const hsize_t chunk = std::max<hsize_t>(1, std::min<hsize_t>(id.trials, sweep_chunk_trials(RecordShape::of(m))));
  const Extents e = Extents::of(RecordShape::of(m));
  for (const TrialRecordSpec* r : trial_records(Presence::of(RecordShape::of(m), id.tilt.active())))
    d.records.emplace_back(*d.group, r->out.path, h5_dims(r->out.shape.dims().subspan(1), e), chunk, id.deflate_level, r->out.unit);
}

PointFileWriter::~PointFileWriter() = default;

void PointFileWriter::append(const TrialBlock& b) {
  if (impl_->records.empty()) return;
  const auto specs = trial_records(Presence::of(b.shape, !b.weight.empty()));
  if (specs.size() != impl_->records.size()) throw std::logic_error("PointFileWriter: a plain block for a weighted sweep, or back");
  for (std::size_t k = 0; k < impl_->records.size(); ++k) impl_->records[k].append(b.*specs[k]->field, b.count);
}

void PointFileWriter::commit(const PointResult& r) {
  Impl& d = *impl_;
  write_result(*d.group, r);
  d.records.clear();
  d.group->set_attr("data_digest", point_data_digest(*d.group, d.point));  // copied with the group into a shard
  d.group.reset();
  d.file->close();
  d.out.commit();
}

// ---- SweepPartReader ----

struct SweepPartReader::Impl {
  std::string path;
  h5::File file;
  SweepIdentity id;
  bool shard = false;
  ShardSpec spec;
  std::vector<std::size_t> points;
  std::map<std::size_t, std::string> groups;  // point -> its group
  std::set<std::size_t> verified;              // points whose digest matched
};

SweepPartReader::SweepPartReader(const std::string& path) {
  h5::File f = h5::File::open_read_only(path);
  std::string type;
  try {
    type = f.attr_string("file_type");
  } catch (const h5::Error&) {
  }
  if (type != kSweepPointFileType && type != kSweepShardFileType)
    throw SweepPartError(fmt::format("{}: not a sweep shard or progress file (file_type '{}')", path, type));
  impl_ = std::make_unique<Impl>(Impl{path, std::move(f), {}, type == kSweepShardFileType, {}, {}, {}, {}});
  Impl& d = *impl_;
  if (const std::int64_t version = d.file.attr_int("format_version"); version != kSweepShardFormatVersion)
    throw SweepPartError(fmt::format(
        "{}: format_version {}, but this restake-sim reads only {}{}: run the sweep (or shard) again with it", path,
        version, kSweepShardFormatVersion,
        version < kSweepShardFormatVersion ? " (older parts have no digest of their data to check)" : ""));
  d.id = read_identity(d.file);
  if (!d.shard) {
    const std::size_t p = d.file.attr_uint("point");
    d.points = {p};
    d.groups[p] = "point";
    return;
  }
  d.spec = {d.file.attr_uint("shard_index"), d.file.attr_uint("shard_count")};
  for (const std::uint64_t p : d.file.open_group("shard").read_uint64s("points")) {
    d.points.push_back(p);
    d.groups[p] = fmt::format("point/{}", p);
  }
}

SweepPartReader::~SweepPartReader() = default;
SweepPartReader::SweepPartReader(SweepPartReader&&) noexcept = default;
SweepPartReader& SweepPartReader::operator=(SweepPartReader&&) noexcept = default;

const std::string& SweepPartReader::path() const { return impl_->path; }
const SweepIdentity& SweepPartReader::identity() const { return impl_->id; }
bool SweepPartReader::is_shard() const { return impl_->shard; }
ShardSpec SweepPartReader::shard() const { return impl_->spec; }
const std::vector<std::size_t>& SweepPartReader::points() const { return impl_->points; }

void SweepPartReader::verify(std::size_t point, const Model& first) const {
  Impl& d = *impl_;
  if (d.verified.count(point)) return;
  try {
    const h5::Group g = d.file.open_group(d.groups.at(point));
    // Every dataset's shape before any is read: a hostile extent must not decide what the digest reads.
    const std::map<std::string, std::vector<hsize_t>> expected = point_datasets(first, d.id);
    for (const std::string& name : g.datasets()) {
      const auto it = expected.find(name);
      if (it == expected.end())
        throw SweepPartError(fmt::format("{}: point {}: /{}/{} is not a dataset of a sweep point", d.path, point,
                                         d.groups.at(point), name));
      if (const std::vector<hsize_t> dims = g.dims(name); dims != it->second)
        throw SweepPartError(fmt::format("{}: point {}: /{}/{} has shape [{}], expected [{}]", d.path, point,
                                         d.groups.at(point), name, fmt::join(dims, ", "), fmt::join(it->second, ", ")));
    }
    const std::string stored = g.attr_string("data_digest");
    if (const std::string actual = point_data_digest(g, point); actual != stored)
      throw SweepPartError(fmt::format("{}: point {}: its data do not match the digest written with them ({}, now {}): "
                                       "the file was changed or damaged after it was written",
                                       d.path, point, stored, actual));
  } catch (const h5::Error& e) {
    throw SweepPartError(fmt::format("{}: point {}: cannot check its data: {}", d.path, point, e.what()));
  }
  d.verified.insert(point);
}

PointResult SweepPartReader::result(std::size_t point, const Model& first) const {
  verify(point, first);
  const Impl& d = *impl_;
  const h5::Group g = d.file.open_group(d.groups.at(point));
  const std::size_t H = first.holders.size();  // verify() checked every dataset's shape against the sweep's
  PointResult r;
  r.holder_value = g.read_doubles("holder_value");
  r.pool_balance = g.read_doubles("pool_balance");
  r.usd_price = g.read_doubles("usd_price");
  r.horizon_days = g.read_doubles("horizon_days").front();
  RunSummary& s = r.summary;
  s.info = {first.simulation.name, d.id.program_version, d.id.git_commit, d.id.seed, d.id.trials, r.horizon_days, d.id.tilt};
  // The entities (names from the sweep's model, numbers from the point's), then every declared summary.
  for (std::size_t h = 0; h < H; ++h) {
    HolderSummary hs;
    hs.name = first.holders[h].name;
    hs.kind = to_string(first.holders[h].kind);
    hs.asset = to_string(first.holders[h].asset);
    hs.value = r.holder_value[h];
    const double price = r.usd_price[static_cast<std::size_t>(first.holders[h].asset)];
    hs.usd_price = std::isnan(price) ? 0.0 : price;  // point_result() stores a missing price (0) as NaN
    s.holders.push_back(std::move(hs));
  }
  for (const auto& a : first.avs) s.avs.push_back({a.name, to_string(a.asset), 0.0, 0.0, std::vector<double>(H)});
  for (std::size_t k = 0; k < first.coverage_pools.size(); ++k)
    s.pools.push_back({first.coverage_pools[k].name, to_string(first.coverage_pools[k].asset), r.pool_balance[k], 0.0, 0.0});
  for (const Token& t : first.tokens) s.tokens.push_back({t.name, first.holders.at(t.holder).name});
  const double eth_price = r.usd_price.at(static_cast<std::size_t>(Asset::Eth));
  for (const LendingMarketSpec& l : first.lending_markets) {
    LendingSummary ls;
    ls.name = l.name;
    ls.token = first.tokens.at(l.token).name;
    ls.debt_eth = l.debt_eth;  // the sweep's, as the names: a point does not store its own
    ls.usd_price = std::isnan(eth_price) ? 0.0 : eth_price;
    s.lending.push_back(std::move(ls));
  }
  try {
    if (const auto missing = read_summaries(g, s); !missing.empty())
      throw SweepPartError(fmt::format("{}: point {} has no /{}", d.path, point, missing.front()));
  } catch (const h5::Error& e) {
    throw SweepPartError(fmt::format("{}: point {}: {}", d.path, point, e.what()));
  }
  return r;
}

void SweepPartReader::copy_records(std::size_t point, const Model& first, SweepWriter& writer) const {
  const Impl& d = *impl_;
  if (!d.id.records) return;
  verify(point, first);  // every record shaped for the sweep's entities
  const h5::Group g = d.file.open_group(d.groups.at(point));
  const RecordShape shape = RecordShape::of(first);
  const hsize_t step = sweep_block_trials(shape);  // whole chunks of the sweep file
  TrialBlock b;
  for (hsize_t row = 0; row < d.id.trials; row += step) {
    const hsize_t n = std::min<hsize_t>(step, d.id.trials - row);
    b.reset(shape, row, n);
    for (const TrialRecordSpec* r : trial_records(Presence::of(shape, d.id.tilt.active()))) b.*r->field = g.read_rows(r->out.path, row, n);
    writer.append(point, b);
  }
}

// ---- progress folders, shard files, merge ----

namespace {

// The point files in a progress folder, by point: (point, path). A temporary of a point being
// written when the run stopped has another name.
std::vector<std::pair<std::size_t, std::string>> progress_point_paths(const std::string& folder) {
  std::vector<std::pair<std::size_t, std::string>> found;
  if (!fs::is_directory(folder)) return {};
  static const std::regex name(R"(point-(\d+)\.h5)");
  for (const auto& e : fs::directory_iterator(folder)) {
    std::smatch m;
    const std::string file = e.path().filename().string();
    if (std::regex_match(file, m, name)) found.emplace_back(std::stoull(m[1].str()), e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

void check_same_sweep(const SweepPartReader& part, const SweepIdentity& id) {
  if (const std::string diff = id.difference(part.identity()); !diff.empty())
    throw SweepPartError(fmt::format("{}: progress of another sweep ({} differ, this run vs the file); run without --resume to start over",
                                     part.path(), diff));
}

}  // namespace

std::vector<std::string> progress_files(const std::string& folder, const SweepIdentity& id) {
  std::vector<std::string> out;
  for (auto& [point, path] : progress_point_paths(folder)) {
    check_same_sweep(SweepPartReader(path), id);
    out.push_back(std::move(path));
  }
  return out;
}

void write_shard(const std::string& path, const Sweep& sw, const SweepIdentity& id, const ShardSpec& shard,
                 const std::vector<SweepPartReader>& point_files) {
  AtomicFile out(path);
  h5::File f = h5::File::create(out.path());
  // The shard holds copies of the point files' groups: at most their size. Reserved first, as a
  // write failing inside H5Ocopy (a full disk) crashes HDF5 1.10.
  std::uintmax_t bytes = 0;
  for (const SweepPartReader& part : point_files) bytes += fs::file_size(part.path());
  out.reserve(bytes);
  f.set_attr("file_type", kSweepShardFileType);
  f.set_attr("format_version", kSweepShardFormatVersion);
  write_identity(f, id);
  f.set_attr("shard", fmt::format("{}/{}", shard.index, shard.count));
  f.set_attr("shard_index", static_cast<std::uint64_t>(shard.index));
  f.set_attr("shard_count", static_cast<std::uint64_t>(shard.count));
  f.set_attr("points", static_cast<std::uint64_t>(sw.points.size()));
  // Paths from the root, no open groups: the file must have nothing open when it is closed.
  f.create_group("points");
  std::vector<std::string> names;
  std::vector<double> values;
  for (const auto& p : sw.parameters) names.push_back(p.path);
  for (const auto& row : sw.points) values.insert(values.end(), row.begin(), row.end());
  f.write_strings("points/parameters", names);
  f.write_doubles("points/values", values, {sw.points.size(), sw.parameters.size()}, "each parameter's own unit");
  std::vector<std::uint64_t> held;
  f.create_group("point");
  for (const SweepPartReader& part : point_files)
    for (const std::size_t p : part.points()) {
      held.push_back(p);
      part.impl_->file.copy(part.impl_->groups.at(p), f, fmt::format("point/{}", p));
    }
  f.create_group("shard");
  f.write_uint64s("shard/points", held, {held.size()});
  f.close();
  out.commit();
}

Sweep sweep_of_part(const SweepIdentity& id) {
  // The run that wrote the part checked every point; merge builds the first one only.
  return parse_sweep(id.sweep_text, id.sweep_path, [&](const std::string&) { return id.scenario_text; },
                     {.every_point = false});
}

std::size_t merge_shards(const std::vector<std::string>& shard_paths, const std::string& output) {
  if (shard_paths.empty()) throw SweepPartError("merge: no shard files given");
  // The same file under another name (./a.h5, a hard link) is the same input: compare files, not names.
  std::error_code ec;
  for (const auto& path : shard_paths)
    if (fs::equivalent(output, path, ec))
      throw SweepPartError(fmt::format("merge: the output {} is the input shard {}: writing it would replace that shard; "
                                       "give another -o",
                                       output, path));
  std::vector<SweepPartReader> parts;
  for (const auto& path : shard_paths) {
    parts.emplace_back(path);
    if (!parts.back().is_shard())
      throw SweepPartError(fmt::format("{}: a progress file, not a shard (merge takes the files of sweep --shard)", path));
    if (const std::string diff = parts.front().identity().difference(parts.back().identity()); !diff.empty())
      throw SweepPartError(fmt::format("{} is not a shard of the same sweep as {}: {} differ", path, parts.front().path(), diff));
  }
  const SweepIdentity& id = parts.front().identity();
  const Sweep sw = sweep_of_part(id);
  const std::size_t P = sw.points.size();

  std::vector<std::optional<std::size_t>> owner(P);
  std::vector<std::string> duplicates;
  for (std::size_t k = 0; k < parts.size(); ++k)
    for (const std::size_t p : parts[k].points()) {
      if (p >= P) throw SweepPartError(fmt::format("{}: point {} is not in the sweep ({} points)", parts[k].path(), p, P));
      if (owner[p]) duplicates.push_back(fmt::format("point {} is in both {} and {}", p, parts[*owner[p]].path(), parts[k].path()));
      else owner[p] = k;
    }
  if (!duplicates.empty())
    throw SweepPartError(fmt::format("merge: duplicate points: {}{}", fmt::join(duplicates.begin(),
                                     duplicates.begin() + static_cast<long>(std::min<std::size_t>(duplicates.size(), 20)), "; "),
                                     duplicates.size() > 20 ? fmt::format(" and {} more", duplicates.size() - 20) : ""));
  std::vector<std::size_t> missing;
  for (std::size_t p = 0; p < P; ++p)
    if (!owner[p]) missing.push_back(p);
  if (!missing.empty()) {
    std::string hint;
    const std::size_t N = parts.front().shard().count;
    if (std::all_of(parts.begin(), parts.end(), [&](const SweepPartReader& s) { return s.shard().count == N; })) {
      std::vector<std::size_t> shards;
      for (const std::size_t p : missing)
        if (std::find(shards.begin(), shards.end(), p % N) == shards.end()) shards.push_back(p % N);
      std::sort(shards.begin(), shards.end());
      hint = fmt::format(" (they belong to shard{} {} of {})", shards.size() > 1 ? "s" : "", list_points(shards), N);
    }
    throw SweepPartError(fmt::format("merge: {} of {} points are in no shard: {}{}", missing.size(), P, list_points(missing), hint));
  }

  const Model first = sw.point_model(0);
  SweepWriter writer(output, sw, first, id.meta(), id.writer_options(first));
  for (std::size_t p = 0; p < P; ++p) {
    const SweepPartReader& part = parts[*owner[p]];
    part.copy_records(p, first, writer);
    writer.add_point(p, part.result(p, first));
  }
  writer.finish();
  return P;
}

std::map<std::size_t, SweepPartReader> open_progress(const std::string& folder, const SweepIdentity& id, bool resume,
                                                     const std::vector<std::size_t>& points, const Model& first) {
  std::map<std::size_t, SweepPartReader> done;
  if (resume) {
    for (const auto& [p, file] : progress_point_paths(folder)) {
      // A file HDF5 cannot read (damaged, or cut short by a crash or a full disk before this
      // version closed and synced every file before renaming it) is a point not finished.
      std::optional<SweepPartReader> part;
      try {
        part.emplace(file);
      } catch (const h5::Error& e) {
        spdlog::warn("{}: cannot read this progress file ({}); simulating point {} again", file, e.what(), p);
        fs::remove(file);
        continue;
      }
      check_same_sweep(*part, id);  // another sweep's progress is not ours to remove
      if (!std::binary_search(points.begin(), points.end(), p)) continue;
      try {
        if (part->points().front() != p)
          throw SweepPartError(fmt::format("{}: holds point {}, not {}", file, part->points().front(), p));
        part->verify(p, first);
      } catch (const SweepPartError& e) {
        spdlog::warn("{}; simulating point {} again", e.what(), p);
        fs::remove(file);
        continue;
      }
      done.emplace(p, std::move(*part));
    }
    spdlog::info("--resume: {} of {} points already finished in {}", done.size(), points.size(), folder);
  } else if (fs::exists(folder)) {
    spdlog::warn("removing the progress of an earlier run in {} (--resume would continue it)", folder);
    fs::remove_all(folder);
  }
  fs::create_directories(folder);
  return done;
}

}  // namespace restake
