#pragma once
// Sweep points stored apart from the sweep file (docs/sweeps.md, "On a cluster without MPI"):
// progress files (one per finished point, in a sidecar folder, for --resume) and shard files
// (the points p % N == i of `sweep --shard i/N`), and the merge of shards into the file a single
// run writes. A point is a whole run with its own summary, so a stored point read back is bit for
// bit the point a fresh run computes; the summary's numbers are stored as doubles, unchanged.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "io/h5.hpp"
#include "model/model.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_writer.hpp"
#include "trial/trial_block.hpp"

namespace restake {

inline constexpr const char* kSweepPointFileType = "restake-sim sweep point";
inline constexpr const char* kSweepShardFileType = "restake-sim sweep shard";
// 2: each point also holds avs_holder_loss_mean [A, H]; 3: each point's summary as the declared
// datasets of a results file (io/schema.hpp) instead of packed tables; 4: each point's group holds
// data_digest, a digest of its datasets checked before the point is used (parts of version 3 are
// refused: they cannot show that nobody changed them); 5: the digest covers the point's index too
// (a point's data moved to another point's place no longer match)
inline constexpr std::int64_t kSweepShardFormatVersion = 5;

// The digest of point `index`'s group in a part (its attribute data_digest): of the index and of
// the names, shapes and values of every dataset in it, "fnv1a64:<16 hex digits>".
std::string point_data_digest(const h5::Group& point, std::size_t index);

// A stored point is unusable here (another sweep, missing or duplicate points, a damaged file).
struct SweepPartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Everything that decides a sweep's numbers, plus what its file records about the run: two parts
// belong together only if the first seven fields are equal.
struct SweepIdentity {
  std::string program_version, git_commit;
  std::string sweep_text, scenario_text;
  std::uint64_t seed = 0, trials = 0;
  bool records = false;
  std::string sweep_path;  // as given on the command line (labels the merged file)
  int deflate_level = 1;
  TiltInfo tilt{};  // importance sampling: the one tilt of every point (inactive: plain Monte Carlo)

  // "the seed (4 vs 5), the sweep text" or "" when the parts belong together.
  std::string difference(const SweepIdentity& other) const;
  SweepMeta meta() const;
  // Quantiles' relative error at every point of the sweep whose point 0 is `first`: 0 with records
  // (exact order statistics), else run --no-records's default for its holders (default_sketch_accuracy).
  // A function of the texts above, so parts that belong together agree on it.
  double sketch_accuracy(const Model& first) const;
  SweepWriterOptions writer_options(const Model& first) const;
};

// `--shard i/N`: this job runs the points p with p % count == index.
struct ShardSpec {
  std::size_t index = 0, count = 1;
};
// "i/N" with 0 <= i < N; throws std::invalid_argument with a message for the user otherwise.
ShardSpec parse_shard(std::string_view text);
std::vector<std::size_t> shard_points(std::size_t points, const ShardSpec& shard);

// The progress folder of output OUT: OUT.partial-points/, one file per finished point.
std::string progress_folder(const std::string& output);

// One sweep at a time per output: an advisory lock (flock) on OUT.partial-points.lock, held from
// before the progress folder is read until the object is destroyed. Without it a second sweep to
// the same -o removed the first's progress folder and the first failed. The lock file holds the
// holder's pid, for the message; the kernel drops the lock when the holder dies, however it dies.
class OutputLock {
 public:
  // Throws std::runtime_error ("another sweep (pid N) is writing OUT; ...") if another process
  // holds the lock, without touching anything of that process's.
  explicit OutputLock(const std::string& output);
  ~OutputLock();  // removes the lock file, then releases the lock
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// One point's progress file, written under a temporary name while the point runs and renamed into
// place by commit(): a file named point-<p>.h5 is always complete. The destructor removes an
// uncommitted file.
class PointFileWriter {
 public:
  PointFileWriter(const std::string& folder, std::size_t point, const SweepIdentity& id, const Model& m);
  ~PointFileWriter();
  PointFileWriter(const PointFileWriter&) = delete;
  PointFileWriter& operator=(const PointFileWriter&) = delete;

  void append(const TrialBlock& block);  // only with id.records
  void commit(const PointResult& result);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The finished point files in a progress folder, by point (none if the folder does not exist). A point file
// of another sweep is a SweepPartError naming the difference.
std::vector<std::string> progress_files(const std::string& folder, const SweepIdentity& id);

// Reads a progress file or a shard file.
class SweepPartReader {
 public:
  explicit SweepPartReader(const std::string& path);
  ~SweepPartReader();
  SweepPartReader(SweepPartReader&&) noexcept;
  SweepPartReader& operator=(SweepPartReader&&) noexcept;

  const std::string& path() const;
  const SweepIdentity& identity() const;
  bool is_shard() const;
  ShardSpec shard() const;                         // shards only
  const std::vector<std::size_t>& points() const;  // ascending
  // `first` is the model of point 0 of the sweep: names, kinds and assets of the entities.
  PointResult result(std::size_t point, const Model& first) const;
  // Throws SweepPartError unless the point's group holds only the datasets of a point of the sweep
  // whose point 0 is `first`, each of its shape (checked before any is read), and they still have
  // the digest stored with them when they were written (a file edited or damaged since).
  // result() and copy_records() check first.
  void verify(std::size_t point, const Model& first) const;
  // The point's per-trial records, block by block (only for parts written with records), each
  // dataset's shape checked against `first`'s entities first.
  void copy_records(std::size_t point, const Model& first, SweepWriter& writer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend void write_shard(const std::string&, const Sweep&, const SweepIdentity&, const ShardSpec&,
                          const std::vector<SweepPartReader>&);
};

// Collects the point files of one shard into the shard file `path` (written under a temporary
// name and renamed when complete).
void write_shard(const std::string& path, const Sweep& sweep, const SweepIdentity& id, const ShardSpec& shard,
                 const std::vector<SweepPartReader>& point_files);

// The sweep a part was made from, parsed again from the texts it stores (every point checked).
Sweep sweep_of_part(const SweepIdentity& id);

// Shards -> the file a single run of the sweep writes. Refuses shards of different sweeps, missing
// or duplicate points (naming them), changed points, and an output that is one of the shards.
// Returns the number of points.
std::size_t merge_shards(const std::vector<std::string>& shard_paths, const std::string& output);

// A run's progress folder: with `resume`, the finished points of an earlier run (those among the
// ascending `points` this run makes), opened; a point file changed since it was written is removed
// with a warning, so the point runs again; otherwise any earlier progress is removed. Either
// way the folder exists afterwards. The same for runs with and without MPI.
// A progress file HDF5 cannot read is removed with a warning too. `first` is the sweep's point 0.
std::map<std::size_t, SweepPartReader> open_progress(const std::string& folder, const SweepIdentity& id, bool resume,
                                                     const std::vector<std::size_t>& points, const Model& first);

}  // namespace restake
