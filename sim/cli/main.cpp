// restake-sim: the command line. Wires scenario -> engine -> results file; the library does the work.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cascade_command.hpp"
#include "compare_command.hpp"
#include "trial/cross_entropy.hpp"
#include "trial/engine.hpp"
#include "trial/price_paths.hpp"
#include "stats/quantile_sketch.hpp"
#include "stats/tally_sink.hpp"
#include "stats/worst_trials.hpp"
#include "interrupt.hpp"
#include "number_options.hpp"
#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "progress.hpp"
#include "reproduce_command.hpp"
#include "io/results.hpp"
#include "io/schema.hpp"
#include "io/scenario.hpp"
#include "sweep_command.hpp"
#include "sweep/sweep_summary.hpp"
#include "text_file.hpp"
#include "version.hpp"
#ifdef RESTAKE_MPI
#include "mpi_run.hpp"
#endif

namespace fs = std::filesystem;
using namespace restake;

namespace restake {
class MpiSession;  // cli/mpi_sweep.hpp, in builds with RESTAKE_MPI
}

namespace {



std::string default_scenario() {
  if (fs::exists("scenarios/default.toml")) return "scenarios/default.toml";
  return RESTAKE_SOURCE_DIR "/scenarios/default.toml";
}

// `--tail HOLDER:TARGET`: TARGET is `loss=X` (or just X), the event loss >= X, or `quantile=P`.
struct TailOption {
  std::string holder;
  double loss = 0.0, quantile = 0.0;
};

CLI::Option* add_tail_option(CLI::App& cmd, std::optional<TailOption>& target) {
  const auto take = [&target](const std::string& text) {
    const auto refuse = [&](const std::string& why) {
      throw CLI::ValidationError("--tail", fmt::format("expected HOLDER:LOSS, HOLDER:loss=LOSS or HOLDER:quantile=LEVEL "
                                                       "(LOSS in (0, 1], LEVEL in [0.5, 1)), got \"{}\": {}", text, why));
    };
    const std::size_t colon = text.rfind(':');  // holder names may contain colons; targets do not
    if (colon == std::string::npos || colon == 0) refuse("no holder before a colon");
    TailOption t{text.substr(0, colon)};
    std::string_view value = std::string_view(text).substr(colon + 1);
    const bool quantile = value.starts_with("quantile=");
    if (quantile) value.remove_prefix(9);
    else if (value.starts_with("loss=")) value.remove_prefix(5);
    const auto v = detail::parse_whole<double>(value);
    if (!v || !std::isfinite(*v)) refuse("not a number");
    if (quantile && !(*v >= 0.5 && *v < 1.0)) refuse("a quantile level must be in [0.5, 1)");
    if (!quantile && !(*v > 0.0 && *v <= 1.0)) refuse("a loss must be in (0, 1]");
    (quantile ? t.quantile : t.loss) = *v;
    target = t;
  };
  return cmd.add_option_function<std::string>("--tail", take,
                                              "Importance sampling towards a holder's tail: HOLDER:LOSS (P(loss >= LOSS)) or "
                                              "HOLDER:quantile=LEVEL; overrides the scenario's [tail] target")
      ->type_name("HOLDER:TARGET");
}

struct RunArgs {
  std::string scenario;
  std::string output;
  RunOverrides run;  // over the scenario's [simulation]
  std::optional<TailOption> tail;
  bool no_tail = false;
  int deflate = 1;
  bool progress = true;
  bool records = true;
  bool json = false;
  std::size_t price_paths = 10;  // the worst trials per token whose price paths are written; 0: none
  std::vector<double> thresholds;  // --threshold: P(loss >= x) at each
  bool contributions = false;      // --contributions: risk contributions, from the tail trials re-run
  bool wide = false;               // --wide: tables of holder columns in one piece, however wide
  std::optional<double> sketch_accuracy;  // --sketch-accuracy; unset: default_sketch_accuracy(holders)
};

// More worst trials than a report can show, each re-run after the run: a typo, not a request.
inline constexpr std::int64_t kMaxPricePaths = 1000;

int cmd_validate(const std::string& path) {
  const Model m = parse_scenario(read_text_file(path, "scenario file"), path);
  for (const std::string& w : scenario_warnings(m)) spdlog::warn("{}: {}", path, w);
  std::size_t restaked = 0;
  for (const auto& h : m.holders)
    for (const auto& p : h.positions) restaked += p.protocol != kNoProtocol;
  // "1 group", "2 groups"; what the scenario has none of is left out.
  const auto count = [](std::size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); };
  std::vector<std::string> parts{count(m.operators.size(), "operator", "operators")};
  const auto some = [&](std::size_t n, const char* one, const char* many) {
    if (n > 0) parts.push_back(count(n, one, many));
  };
  some(m.groups.size(), "group", "groups");
  some(m.outages.size(), "outage", "outages");
  some(m.protocols.size(), "protocol", "protocols");
  some(m.avs.size(), "AVS", "AVSs");
  parts.push_back(count(m.holders.size(), "holder", "holders") + " (" + count(restaked, "restaked position", "restaked positions") + ")");
  some(m.contracts.size(), "contract", "contracts");
  some(m.coverage_pools.size(), "coverage pool", "coverage pools");
  some(m.withdrawals.size(), "withdrawal", "withdrawals");
  some(m.tokens.size(), "token", "tokens");
  some(m.lending_markets.size(), "lending market", "lending markets");
  fmt::print("{}: ok - scenario \"{}\": {}; {}, seed {}, horizon {} days\n", path, m.simulation.name, fmt::join(parts, ", "),
             count(m.simulation.trials, "trial", "trials"), m.simulation.seed, m.simulation.horizon_days);
  return 0;
}

// The run's tail search: the scenario's [tail], its target replaced by --tail, or none (--no-tail).
std::optional<TailSearch> tail_search(const Model& m, const RunArgs& a) {
  if (a.no_tail) return std::nullopt;
  std::optional<TailSearch> s = m.tail;
  if (!a.tail) return s;
  if (!s) s.emplace();
  const auto h = std::find_if(m.holders.begin(), m.holders.end(), [&](const Holder& x) { return x.name == a.tail->holder; });
  if (h == m.holders.end()) {
    std::string known;
    for (const Holder& x : m.holders) known += (known.empty() ? "\"" : ", \"") + x.name + "\"";
    throw std::runtime_error(fmt::format("--tail: no holder \"{}\" in the scenario (holders: {})", a.tail->holder, known));
  }
  s->target = {static_cast<std::size_t>(h - m.holders.begin()), a.tail->loss, a.tail->quantile};
  return s;
}

// Cross-entropy pilot rounds (trial/cross_entropy.hpp), logged round by round.
CrossEntropyResult find_run_tilt(const Model& m, const TailSearch& s, const RunSpec& spec) {
  const std::string& holder = m.holders[s.target.holder].name;
  const std::string target = s.target.is_quantile() ? fmt::format("its {}% loss quantile", 100.0 * s.target.quantile)
                                                    : fmt::format("P(loss >= {})", s.target.loss);
  spdlog::info("importance sampling: cross-entropy pilot rounds ({} trials each) for holder \"{}\", {}", s.pilot_trials,
               holder, target);
  const CrossEntropyResult r = find_tilt(m, s, spec);
  for (std::size_t k = 0; k < r.levels.size(); ++k) spdlog::info("  round {}: elite level {:.6g}", k + 1, r.levels[k]);
  if (r.reached)
    spdlog::info("importance sampling: tilted towards loss >= {:.6g} after {} pilot trials, {:.0f}% of trials at the model's "
                 "rates (defensive)", r.target_loss, r.pilot_trials, 100.0 * r.tilt.defensive);
  else
    spdlog::warn("importance sampling: the pilot rounds reached loss {:.6g}, short of {:.6g}, in {} rounds: the estimates stay "
                 "unbiased but may be noisier (more [tail] rounds or pilot trials would help)", r.levels.back(), r.target_loss,
                 r.levels.size());
  return r;
}

// "12 s", "45 min", "3.2 h", "4.1 days": a run's time as a reader takes it in.
std::string human_duration(double seconds) {
  if (seconds < 10) return fmt::format("{:.2g} s", seconds);
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
  if (seconds < 3 * 86400) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.0f} days", seconds / 86400);
}

// Events per trial above which a run is announced as costly, with an estimate of its time.
inline constexpr double kCostlyEventsPerTrial = 1000;

// The run's expected events per trial (its sources' rates, tilted if importance-sampled; forced
// [stress] events are counted as they come), logged; above kCostlyEventsPerTrial, a warning with
// the run's time from a pilot of a few trials, before any output exists.
void announce_cost(const Model& m, const RunSpec& spec) {
  const double events = m.stress.random_events ? expected_events(m, make_sampler_plan(m, spec.tilt)) : 0.0;
  const std::string count = events >= 100 ? fmt::format("{:.0f}", events) : fmt::format("{:.3g}", events);
  spdlog::info("about {} random events per trial expected", count);
  if (!(events > kCostlyEventsPerTrial) || spec.trials == 0) return;
  // The pilot itself may take seconds: a signal during it stops the run as one during the run does.
  catch_interrupts();
  TrialRerun pilot(m, spec);
  const std::uint64_t n = std::min<std::uint64_t>(spec.trials, 8);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t t = 0; t < n; ++t) {
    throw_if_interrupted();
    pilot.run(spec.first_trial + t);
  }
  const double per_trial = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(n);
  const double threads = std::max(1.0, spec.threads > 0 ? spec.threads : static_cast<double>(std::thread::hardware_concurrency()));
  const double seconds = per_trial * static_cast<double>(spec.trials) / std::max(1.0, threads);
  spdlog::warn("{} events per trial expected (more than {:.0f}): about {:.3g} s per trial, {} for {} trials on {} threads, "
               "from a pilot of {} trials; SIGINT or SIGTERM stops it, leaving no file",
               count, kCostlyEventsPerTrial, per_trial, human_duration(seconds), spec.trials, threads, n);
}

// The process's place in a run split over MPI ranks (cli/mpi_run.hpp); {} without MPI.
struct RunRank {
  const MpiSession* mpi = nullptr;  // a session of more than one rank (builds with RESTAKE_MPI only)
  int rank = 0, ranks = 1;
};

int run_scenario(RunArgs a, RunRank at) {
  if (a.scenario.empty()) a.scenario = default_scenario();
  const std::string text = read_text_file(a.scenario, "scenario file");
  const Model m = parse_scenario(text, a.scenario);  // all validation happens before any output exists
  for (const std::string& w : scenario_warnings(m)) spdlog::warn("{}: {}", a.scenario, w);
  RunSpec spec = resolve_run_spec(m.simulation, {}, a.run);
  if (!a.run.block_trials) spec.block_trials = block_trials_for(RecordShape::of(m));  // blocks of bounded bytes
  const std::optional<TailSearch> tail = tail_search(m, a);
  if (a.output.empty()) a.output = (fs::path("results") / fs::path(a.scenario).stem()).string() + ".h5";
  if (at.rank == 0) {  // rank 0 alone writes
    check_replaceable(a.output);  // before the run, not after it
    if (const fs::path dir = fs::path(a.output).parent_path(); !dir.empty()) fs::create_directories(dir);
  }

  spdlog::info("scenario \"{}\" from {}: {} trials, seed {}, {} threads{} -> {}", m.simulation.name, a.scenario,
               spec.trials, spec.seed, spec.threads, at.ranks > 1 ? fmt::format(" x {} ranks", at.ranks) : "", a.output);
  std::optional<TailInfo> target;
  if (tail) {
    const CrossEntropyResult r = find_run_tilt(m, *tail, spec);
    spec.tilt = r.tilt;
    target = TailInfo{tail->target.holder, r.target_loss, tail->target.quantile};
  }
  if (at.rank == 0) announce_cost(m, spec);  // once, not per rank

  const double sketch_accuracy = a.sketch_accuracy.value_or(default_sketch_accuracy(m.holders.size()));
  const std::size_t paths_asked = m.tokens.empty() ? 0 : a.price_paths;
#ifdef RESTAKE_MPI
  const MpiSession* mpi = at.mpi;
  if (mpi && at.rank != 0) {
    // This rank's share of the trials, sent to rank 0; it writes nothing.
    catch_interrupts();
    Tally tally(m, a.records ? 0.0 : sketch_accuracy, target, a.thresholds);
    WorstTrials worst(m.tokens.size(), paths_asked);
    try {
      if (a.records)
        record_run_mpi(m, spec, {}, interrupted, *mpi);
      else
        stream_run_mpi(m, spec, tally, worst, {}, interrupted, *mpi);
    } catch (const RunStopped&) {
      throw_if_interrupted();  // our stop hook said stop: a signal arrived
      throw;
    }
    return 0;
  }
#endif

  ResultsMeta meta;
  meta.info = {m.simulation.name, kVersion, kGitCommit, spec.seed, spec.trials, m.simulation.horizon_days, TiltInfo::of(m, spec.tilt), target,
               a.thresholds};
  meta.scenario_path = a.scenario;
  meta.scenario_text = text;
  WriterOptions wo;
  wo.deflate_level = a.deflate;
  wo.records = a.records;
  wo.sketch_accuracy = sketch_accuracy;
  if (!a.records && !a.sketch_accuracy && wo.sketch_accuracy != 1e-4)
    spdlog::info("{} holders: quantiles within {:.2g} relative error (--sketch-accuracy to choose)", m.holders.size(), wo.sketch_accuracy);
  // Caught before the writer makes its temporary: a signal from then on unwinds the writer, which
  // removes it (under mpirun a failing rank's abort sends SIGTERM to rank 0 at any time).
  catch_interrupts();
  ResultsWriter writer(a.output, m, meta, wo);
  // Moments, probabilities and means here; with records, the exact quantiles from the file's columns.
  Tally tally(m, wo.records ? 0.0 : wo.sketch_accuracy, target, a.thresholds);
  // The worst trials by each token's low, re-run after the run for their price paths.
  WorstTrials worst(m.tokens.size(), paths_asked);

  ProgressBar bar(spec.trials, a.progress, isatty(STDERR_FILENO) != 0);
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t done = 0;
  try {
    if (wo.records) {
      const auto on_block = [&](const TrialBlock& b) {
        throw_if_interrupted();
        writer.append(b);
        tally.add(b);
        if (paths_asked > 0) worst.add(b);
        done += b.count;
        bar.update(done);
      };
#ifdef RESTAKE_MPI
      if (mpi) record_run_mpi(m, spec, on_block, interrupted, *mpi);
      else
#endif
      run_trials(m, spec, on_block, interrupted);
    } else {
      const auto closed = [&](std::uint64_t trials) {
        writer.count_unrecorded(trials);
        done += trials;
        bar.update(done);
      };
#ifdef RESTAKE_MPI
      if (mpi) stream_run_mpi(m, spec, tally, worst, closed, interrupted, *mpi);
      else
#endif
      {
        // Without records nothing needs a block of rows: each trial is tallied where it ran.
        TallySink sink(tally, worst, [&](std::unique_ptr<TallyChunk> c) {
          const std::uint64_t trials = c->end - c->first;
          tally.close(std::move(c));
          closed(trials);
        });
        stream_trials(m, spec, kTallyChunk, sink, interrupted);
      }
    }
  } catch (const RunStopped&) {
    throw_if_interrupted();  // our stop hook said stop: a signal arrived
    throw;
  }
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RunSummary s = wo.records ? summarize_run(m, meta.info, tally, writer.record_columns()) : summarize_run(m, meta.info, tally);
  if (a.contributions) {
    const auto rerun_start = std::chrono::steady_clock::now();
    const QuantileSource cols = writer.record_columns();
    const std::vector<HolderContributions> c = risk_contributions(m, spec, cols.loss_fraction, cols.weight ? cols.weight() : std::vector<double>{});
    for (std::size_t h = 0; h < c.size(); ++h) s.holders[h].contributions = c[h];
    s.contributions = true;
    for (const Operator& o : m.operators) s.operators.push_back(o.name);
    spdlog::info("risk contributions: tail trials re-run in {:.2f} s",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - rerun_start).count());
  }
  if (paths_asked > 0) {
    const auto rerun_start = std::chrono::steady_clock::now();
    const PricePaths paths = price_paths_of(m, spec, worst);
    writer.write_price_paths(paths, paths_asked);
    spdlog::debug("price paths of the {} worst trials per token: {} points, re-run in {:.3f} s", paths_asked, paths.points(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - rerun_start).count());
  }
  writer.finish(s);
  spdlog::info("{} trials in {:.2f} s ({:.0f} trials/s); wrote {}", done, seconds, static_cast<double>(done) / seconds,
               a.output);
  const std::size_t width = a.wide ? 0 : kTableWidth;
  std::cout << (a.json ? format_summary_json(s) : format_summary_table(s, width))
            << (a.contributions && !a.json ? format_contributions(s, width) : "") << std::flush;
  return 0;
}

int cmd_run(const RunArgs& a) {
#ifdef RESTAKE_MPI
  // Under mpirun/srun the ranks share the run's trials (docs/cluster.md, MPI); one rank runs it as usual.
  if (MpiSession::launched()) {
    const MpiSession mpi;
    if (mpi.size() > 1) return run_on_ranks(mpi, [&] { return run_scenario(a, {&mpi, mpi.rank(), mpi.size()}); });
  }
#endif
  return run_scenario(a, {});
}

struct SummaryArgs {
  std::string path;
  bool json = false, csv = false;
  std::string metric;  // empty: every point's whole summary
  std::vector<double> thresholds;  // P(loss >= x) at each, from the records (results files)
  bool contributions = false;      // the stored risk contributions too (results files)
  bool wide = false;               // tables of holder columns in one piece
};

// A results file as before; a sweep file point by point; either as one metric across its points
// (--metric) or as CSV.
int cmd_summary(const SummaryArgs& a) {
  const bool sweep = is_sweep_file(a.path);
  if (sweep && (!a.thresholds.empty() || a.contributions))
    throw std::runtime_error(fmt::format("{}: a sweep file: --threshold and --contributions read a results file", a.path));
  if ((!a.metric.empty() || a.csv) && (!a.thresholds.empty() || a.contributions))
    throw std::runtime_error("--threshold and --contributions go with the summary's table or --json, not with --metric or --csv");
  if (!sweep && a.metric.empty() && !a.csv) {
    RunSummary s = read_summary(a.path);
    if (!a.thresholds.empty()) set_thresholds_from_records(a.path, a.thresholds, s);
    if (a.contributions && !s.contributions)
      throw std::runtime_error(fmt::format("{}: no risk contributions (its run had no --contributions)", a.path));
    const std::size_t width = a.wide ? 0 : kTableWidth;
    std::cout << (a.json ? format_summary_json(s) : format_summary_table(s, width) + (a.contributions ? format_contributions(s, width) : ""))
              << std::flush;
    return 0;
  }
  const SweepSummary s = sweep ? read_sweep_summary(a.path) : single_point(a.path, read_summary(a.path));
  std::string out;
  if (!a.metric.empty()) {
    const MetricTable t = metric_table(s, a.metric);
    out = a.json ? format_metric_json(s, t) : a.csv ? format_metric_csv(s, t) : format_metric_table(s, t);
  } else {
    out = a.json ? format_sweep_json(s) : a.csv ? format_sweep_csv(s) : format_sweep_table(s);
  }
  std::cout << out << std::flush;
  return 0;
}

int run_command(int argc, char** argv) {
  CLI::App app{"restake-sim: Monte Carlo of slashing contagion in restaking"};
  app.set_version_flag("--version", fmt::format("restake-sim {} ({})", kVersion, kGitCommit));
  app.require_subcommand(1);
  int verbose = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "Simulate a scenario and write an HDF5 results file");
  run_cmd->add_option("scenario", run.scenario, "Scenario file (default: scenarios/default.toml)");
  run_cmd->add_option("-o,--output", run.output, "Results file (default: results/<scenario>.h5)");
  add_integer_option(*run_cmd, "--trials", run.run.trials, 1, kMaxTomlInteger, "Override [simulation] trials");
  add_integer_option(*run_cmd, "--seed", run.run.seed, 0, kMaxTomlInteger, "Override [simulation] seed");
  add_integer_option(*run_cmd, "--threads", run.run.threads, 1, kMaxThreads,
                     fmt::format("Worker threads, at most {} (default: all cores)", kMaxThreads));
  add_integer_option(*run_cmd, "--block", run.run.block_trials, 1, 1 << 24, "Trials per block written at once");
  add_integer_option(*run_cmd, "--compression", run.deflate, 0, 9, "Deflate level of per-trial datasets, 0-9");
  // Plain flags set false, not negated ones ("!--no-progress"), whose help reads "--no-progress{false}".
  bool no_progress = false, no_records = false;
  run_cmd->add_flag("--no-progress", no_progress, "No progress bar");
  CLI::Option* no_records_flag = run_cmd->add_flag("--no-records", no_records,
                    "Store no per-trial records (for huge runs): summaries only, quantiles within 0.01% relative error "
                    "(coarser above 100 holders: --sketch-accuracy)");
  add_number_option(*run_cmd, "--sketch-accuracy", run.sketch_accuracy, 1e-6, 0.05,
                    "With --no-records: the quantiles' relative error (default 1e-4, x holders/100 above 100 holders)")
      ->needs(no_records_flag);
  run_cmd->add_flag("--json", run.json, "Print the summary as JSON");
  add_integer_option(*run_cmd, "--price-paths", run.price_paths, 0, kMaxPricePaths,
                     "Price paths of the K worst trials per token (lowest price), re-run after the run (default 10; 0: none)")
      ->type_name("K");
  add_tail_option(*run_cmd, run.tail);
  run_cmd->add_flag("--contributions", run.contributions,
                    "Also each cause's, AVS's and operator's contribution to every holder's ES 99% and VaR 99% (re-runs the tail "
                    "trials; needs records)")
      ->excludes(no_records_flag);
  run_cmd->add_flag("--wide", run.wide, "Tables with a column per holder in one piece, however wide (default: cut to 120 columns)");
  add_loss_list_option(*run_cmd, "--threshold", run.thresholds,
                       "Also P(loss >= x) with 95% intervals at these losses, e.g. 5%,10%,25% (stored in the results file)");
  run_cmd->add_flag("--no-tail", run.no_tail, "Plain Monte Carlo even when the scenario has a [tail] table")->excludes("--tail");

  std::string validate_path;
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check a scenario file, report every error in it, and exit");
  validate_cmd->add_option("scenario", validate_path, "Scenario file")->required();

  SummaryArgs summary;
  CLI::App* summary_cmd = app.add_subcommand("summary", "Print the summary stored in a results or sweep file");
  summary_cmd->add_option("results", summary.path, "Results or sweep file (.h5)")->required();
  CLI::Option* summary_json = summary_cmd->add_flag("--json", summary.json, "Machine-readable output");
  summary_cmd->add_flag("--csv", summary.csv, "CSV: one row per point and holder (fractions as stored)")->excludes(summary_json);
  summary_cmd->add_option("--metric", summary.metric,
                          "One metric with a value per holder (loss/var99, loss/mean, ...): points as rows, holders as columns")
      ->type_name("NAME");
  summary_cmd->add_flag("--contributions", summary.contributions,
                        "Also the risk contributions to each holder's ES 99% and VaR 99% (a run with --contributions)");
  summary_cmd->add_flag("--wide", summary.wide,
                        "Tables with a column per holder in one piece, however wide (default: cut to 120 columns)");
  add_loss_list_option(*summary_cmd, "--threshold", summary.thresholds,
                       "P(loss >= x) with 95% intervals at these losses, e.g. 5%,10%,25%, from the file's per-trial records");

  CascadeArgs cascade;
  CLI::App* cascade_cmd = add_cascade_command(app, cascade);

  std::vector<std::string> compare_files;
  std::string compare_baseline;
  bool compare_markdown = false;
  CLI::App* compare_cmd = app.add_subcommand("compare", "One table across the holders of several results files");
  compare_cmd->add_option("results", compare_files, "Results files (.h5)")->required();
  compare_cmd->add_option("--baseline", compare_baseline, "FILE:HOLDER to compare against (default: the first lst holder)");
  CLI::Option* compare_md = compare_cmd->add_flag("--markdown", compare_markdown, "Print a Markdown table");
  bool compare_json = false, compare_csv = false;
  CLI::Option* compare_js =
      compare_cmd
          ->add_flag("--json", compare_json,
                     "Machine-readable output (fractions, not percent): rows, lending_markets, pairs (--pair) and notes")
          ->excludes(compare_md);
  compare_cmd->add_flag("--csv", compare_csv,
                        "CSV (fractions, not percent), rows told apart by the first column: row=holder, one per file and holder "
                        "(p_loss_above_premium_note says why that cell is empty; estimator and effective_sample_size say which "
                        "rows are importance-sampling estimates); row=lending_market, one per file and market; row=pair, one per "
                        "--pair and statistic")
      ->excludes(compare_md, compare_js);
  std::vector<HolderPair> compare_pairs;
  compare_cmd
      ->add_option("--pair",
                   [&compare_pairs](const CLI::results_t& specs) {
                     try {
                       compare_pairs = parse_pairs(specs);
                     } catch (const std::invalid_argument& e) {
                       throw CLI::ValidationError("--pair", e.what());
                     }
                     return true;
                   },
                   "Compare holder A of the first file with holder B of each later file: A=B, repeatable or A=B,C=D; the "
                   "holders of the same name in both files are paired too. Adds a table of differences (second - first)")
      ->type_name("A=B")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  std::string reproduce_manifest = RESTAKE_SOURCE_DIR "/scenarios/published/reproductions.toml";
  bool reproduce_markdown = false;
  CLI::App* reproduce_cmd = app.add_subcommand("reproduce", "Check the published figures the simulator reproduces");
  reproduce_cmd->add_option("manifest", reproduce_manifest, "Reproductions manifest (default: scenarios/published/reproductions.toml)");
  reproduce_cmd->add_flag("--markdown", reproduce_markdown, "Print a Markdown table");

  bool schema_json_out = false;
  CLI::App* schema_cmd = app.add_subcommand("schema", "Print the declared outputs (datasets, named dimensions, units)");
  schema_cmd->add_flag("--json", schema_json_out, "Machine-readable (analysis/restake_analysis/schema.json)");

  SweepArgs sweep;
  CLI::App* sweep_cmd = add_sweep_command(app, sweep);
  MergeArgs merge;
  CLI::App* merge_cmd = add_merge_command(app, merge);

  std::string help_topic;
  CLI::App* help_cmd = app.add_subcommand("help", "Show this help, or a command's (restake-sim help run)");
  help_cmd->add_option("command", help_topic, "A command");

  // -v / -q may come before or after the subcommand.
  for (CLI::App* sub : {run_cmd, validate_cmd, summary_cmd, cascade_cmd, compare_cmd, reproduce_cmd, schema_cmd, sweep_cmd, merge_cmd})
    sub->fallthrough();
  CLI11_PARSE(app, argc, argv);
  run.progress = !no_progress;
  run.records = !no_records;
  if (*help_cmd) {
    if (help_topic.empty()) {
      // app.help() would show the selected subcommand's (help's own) help.
      std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal) << std::flush;
      return 0;
    }
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == help_topic && sub != help_cmd) {
        std::cout << sub->help() << std::flush;
        return 0;
      }
    std::string known;
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub != help_cmd) known += (known.empty() ? "" : ", ") + sub->get_name();
    std::cerr << fmt::format("help: no command \"{}\" (commands: {})\n", help_topic, known);
    return 1;
  }

  auto logger = spdlog::stderr_color_mt("restake-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] [%^%l%$] %v");
  spdlog::set_level(quiet ? spdlog::level::warn
                          : verbose >= 2 ? spdlog::level::trace
                          : verbose == 1 ? spdlog::level::debug
                                         : spdlog::level::info);
  try {
    if (*run_cmd) return cmd_run(run);
    if (*validate_cmd) return cmd_validate(validate_path);
    if (*summary_cmd) return cmd_summary(summary);
    if (*cascade_cmd) return run_cascade_command(cascade);
    if (*compare_cmd) return run_compare_command(compare_files, compare_baseline,
                                                     compare_json ? CompareFormat::Json
                                                     : compare_csv ? CompareFormat::Csv
                                                     : compare_markdown ? CompareFormat::Markdown
                                                                        : CompareFormat::Table,
                                                     compare_pairs);
    if (*reproduce_cmd) return run_reproduce_command(reproduce_manifest, reproduce_markdown);
    if (*schema_cmd) {
      std::cout << (schema_json_out ? schema_json() : schema_markdown()) << std::flush;
      return 0;
    }
    if (*sweep_cmd) return run_sweep_command(sweep);
    if (*merge_cmd) return run_merge_command(merge);
  } catch (const ScenarioErrors& e) {
    // A scenario's errors, all of them (io/scenario.hpp), one per line as a single one is.
    for (const ScenarioError& each : e.errors) spdlog::error("{}", each.what());
    if (e.errors.size() > 1) spdlog::error("{}: {} errors", e.file, e.errors.size());
    return 2;
  } catch (const ScenarioError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const Interrupted& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();  // 130 for SIGINT, 143 for SIGTERM
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  h5::take_over_library_shutdown();  // before any HDF5 call: a full disk must not end in SIGSEGV at exit
  const int status = run_command(argc, argv);
  h5::close_library();  // every file is closed by now: the commands' objects are gone
  return status;
}
