#pragma once
// The declared outputs (io/schema.hpp) in HDF5 files: their named axes, with dimension scales, and
// the summaries written and read back by looping over the declaration.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "io/schema.hpp"

namespace restake {

// The names that label a file's entity axes, the same in results and sweep files: holders' names,
// kinds and assets; AVSs' and coverage pools' names and assets; the assets; the loss causes.
void write_entity_labels(const h5::Group& root, const Model& m);

// Labels every axis of dataset `path` (from `root`) with its dimension's name, and attaches the
// dimension's scale dataset where `root` has it (making it a scale on first use), so generic tools
// (h5py's .dims, xarray, HDFView) show labelled axes.
void label_axes(const h5::Group& root, const std::string& path, std::span<const Dim> dims);

// Every declared summary of `runs` under `root`: one run as in a results file, or with
// `point_axis` the runs of a sweep's points stacked along a leading point axis. With `scales`, also
// the quantile levels, and every axis labelled.
void write_summaries(const h5::Group& root, std::span<const RunSummary* const> runs, bool point_axis, bool scales);
// Reads one run's summaries back into `s`, whose entity lists (and each AVS's holder_loss_mean)
// are already sized; a dataset of another shape is an h5::Error naming it. Returns the paths of
// declared summaries the file lacks (older files), which are left as they were.
std::vector<std::string> read_summaries(const h5::Group& root, RunSummary& s);
// The same for a sweep file's summaries, stacked along a leading point axis: point p's row of each
// declared summary into points[p] (all of one sweep, so of one presence and entity extents). A
// dataset whose shape is not [points, ...] is an h5::Error naming it; returns the missing paths.
std::vector<std::string> read_point_summaries(const h5::Group& root, std::span<RunSummary> points);

// A weighted (importance-sampled) run says so in its file: the attribute `weighted` = 1 on `root`,
// and /tilt holds how its trials were drawn (each source's label and rate factor, the defensive
// share). Written only for weighted runs: a plain run's file stays as it was.
void write_tilt(const h5::Group& root, const TiltInfo& tilt);
// The tilt of a file whose `weighted` = 1, checked: one finite factor > 0 per labelled source, a
// defensive share in [0, 1); anything else is an h5::Error naming the dataset.
TiltInfo read_tilt(const h5::Group& root);
// The tilt of any file: inactive when it has no `weighted` attribute (plain Monte Carlo).
TiltInfo read_tilt_if_weighted(const h5::Group& root);

// An importance-sampled run's target and its estimates there (run --tail): the group /tail, its
// attributes holder (index and name), loss, quantile_level, probability, probability_stderr,
// quantile, quantile_stderr. Written only for runs with a target.
void write_tail(const h5::Group& root, const RunSummary& s, const std::string& holder_name);
// Back into s.info.tail and s.tail when the file has /tail, checked (a holder among `holders`,
// finite levels in range); anything else is an h5::Error naming the attribute.
void read_tail(const h5::Group& root, std::size_t holders, RunSummary& s);

// The per-trial weights under `root` (/trials/weight of a results file), checked: shape [trials],
// every weight finite and >= 0; empty when `weighted` is false (a plain run: every trial weighs 1).
// A plain run with a weight dataset, a weighted one without, or a bad weight is an h5::Error naming
// the dataset.
std::vector<double> read_weights(const h5::Group& root, std::uint64_t trials, bool weighted);
// Only the shape checks of read_weights, reading no weight; returns whether the dataset is there.
bool check_weight_shape(const h5::Group& root, std::uint64_t trials, bool weighted);

// h5 dims of a declared shape, optionally with a leading point axis.
std::vector<hsize_t> h5_dims(std::span<const Dim> dims, const Extents& e);

}  // namespace restake
