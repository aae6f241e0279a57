// echo_onnx.hpp: the C++ API of echo-onnx, for hosts that own a mesh and a time loop (solvers,
// visualisation tools). SPDX-License-Identifier: MIT OR Apache-2.0
//
// Build: link the static library `libecho_onnx_cxx.a` (built by `cargo build --release` in
// `cxx-bridge/`), plus the system libraries it needs: `-lpthread -ldl -lm -lrt -lutil`. A shared
// library that embeds it should add `-Wl,--exclude-libs,ALL` so that its Rust symbols stay private.
// C++14 or newer. This header is the whole interface: it uses only standard library types
// (std::string, std::vector, std::runtime_error, fixed-width integers); no Rust type appears here.
//
// ONNX Runtime is loaded at run time from `ort_lib`, else the `ECHO_ORT_LIB` or `ORT_DYLIB_PATH`
// environment variable, else the echo-onnx project's `.venv` (see README.md).
//
// Data layout: locations are `xyz[3 * i + a]` (3 coordinates per location, also in 2D: z is
// ignored by 2D bundles). Field values are location-major and physical (not normalised):
// `values[i * channels() + c]`, the bundle's fields in their order, a field's components consecutive.
// Every array is owned by the caller; output arrays must have the documented size.
//
// Errors: every failing call throws `echo::Error` with the core's kind (`kind()`, to match on) and
// message (`what()`: what is wrong, and a hint how to fix it); the object stays usable unless the
// message says otherwise.
//
// Floating-point traps: every call masks floating-point exceptions on entry and restores the
// caller's floating-point environment (trap mask and flags) on exit, so hosts that trap FP
// exceptions (OpenFOAM's FOAM_SIGFPE) are safe. Threads the runtime starts inherit the masked state.
//
// Serial use:
//     echo::Surrogate s("bundle-dir", "cpu");
//     s.check_case({{"T", 1}}, 2);               // throws when the bundle does not fit the case
//     s.set_mesh(xyz.data(), n);                 // once: neighbour structures are cached
//     s.push_snapshot(t, values.data());         // as the solver computes them
//     std::size_t frames = s.forecast();         // one segment after the last snapshot
//     s.prediction(k, out.data());               // frame k at the mesh locations (n * channels)
//
// Distributed use with the protocol in the core (one object per rank; the host implements
// echo::Communicator: gather to rank 0, broadcast from it):
//     every rank:  set_mesh(comm, xyz, global_ids, n); per snapshot push_snapshot(comm, t, values);
//                  forecast(comm) or generate(comm, t0); prediction(k, out) at its own locations
//
// The result equals a serial run on the whole mesh (global ids break ties between equidistant
// locations, like location indices do in a serial run).
//
// A host that runs next to a solver checks its user's settings at once with
// check_settings(const Settings&) (the first bad one throws SettingError, naming it), lets the core
// keep its time loop, and scores each prediction against the solver with score(comm, ...) (relative
// L2 error, ensemble spread, the maxSpread stop), so every host reports the same numbers in the
// same words:
//     for (auto& w : s.set_schedule(t0, end, dT, interval, horizon)) warn(w);   // once
//     each time step t:  if (!s.snapshot_due(t, dT)) continue;
//                        for (std::size_t k : s.frames_at(t, dT)) compare(k, t);   // score()
//                        s.push_snapshot(comm, t, values);
//                        if (s.forecast_due(t, dT)) s.forecast(comm, horizon);

#ifndef ECHO_ONNX_HPP
#define ECHO_ONNX_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace echo
{

//- What went wrong: the core's error kinds (echo_onnx::ErrorKind, README's exit codes), and
//  Internal for a bug in echo-onnx (please report).
enum class ErrorKind
{
    Io,
    MeshFormat,
    MissingField,
    FieldShape,
    NonFinite,
    OutsideGrid,
    Manifest,
    BundleGraph,
    RuntimeMissing,
    Device,
    Inference,
    Usage,
    Output,
    Internal
};

//- The kind's short stable name, as the CLI's --json prints it ("missing-field", ...).
const char* name(ErrorKind kind);

//- An error from echo-onnx: the kind, and a message that names what is wrong and how to fix it.
class Error : public std::runtime_error
{
    ErrorKind kind_;

public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }
};

//- The collective moves of the distributed protocol, implemented by a host whose mesh is split over
//  ranks (MPI). Every rank makes the same calls in the same order; rank 0 is the master.
class Communicator
{
public:
    virtual ~Communicator() = default;
    virtual std::size_t rank() const = 0;
    virtual std::size_t ranks() const = 0;
    //- Every rank's `local`, concatenated in rank order, on rank 0; empty elsewhere.
    virtual std::vector<double> gather(const std::vector<double>& local) = 0;
    //- Rank 0's `data` on every rank (what the others pass is ignored).
    virtual std::vector<double> broadcast(const std::vector<double>& data) = 0;
};

//- A field as the bundle (or the host) sees it: a name and 1 (scalar) or dim (vector) components.
struct Field
{
    std::string name;
    std::size_t components;
};

//- A PDE parameter of the bundle (manifest.json, "parameters"): its name, range, default and units.
struct Parameter
{
    std::string name;
    double min;
    double max;
    double default_value;
    std::string units;
};

//- Check settings before opening a bundle (e.g. while a host reads its input), against the same
//  bounds the Surrogate applies: throws with a message that starts with the setting's name.
//  0 (and "" for method) means the default, as in the Surrogate's own arguments.
void check_settings
(
    const std::string& device,
    const std::string& method = "",
    std::size_t steps = 0,
    std::size_t horizon = 0,
    std::size_t threads = 0
);

//- A host's settings as it reads them from its user (the OpenFOAM function object's dictionary
//  entries), for check_settings(const Settings&). Counts are signed, as a host reads them, so that
//  a negative value is reported as such; 0 (and "" for method) means the default.
struct Settings
{
    std::string device = "cpu";
    std::string method;
    std::int64_t threads = 0;
    std::int64_t horizon = 0;
    std::int64_t steps = 0;
    std::int64_t seed = 0;
    std::int64_t warm_start_frame = 0;
    std::int64_t ensemble = 1;
    //- Time between forecasts, if given (must be > 0).
    bool has_interval = false;
    double interval = 0;
    //- Threshold on the ensemble's relative spread, if given (> 0, needs ensemble >= 2).
    bool has_max_spread = false;
    double max_spread = 0;
    //- A warm start at warm_start_time (finite; not after end_time + time_step/2 with warm_start).
    bool warm_start = false;
    double warm_start_time = 0;
    double end_time = 1e300;
    double time_step = 0;
    //- The bundle's frames per segment once it is open (0 before): warm_start_frame must be one.
    std::size_t frames = 0;
};

//- A bad setting: the error, and the setting's name (the OpenFOAM function object's entry).
class SettingError : public Error
{
    std::string setting_;

public:
    SettingError(ErrorKind kind, const std::string& setting, const std::string& message)
    : Error(kind, message), setting_(setting) {}
    const std::string& setting() const { return setting_; }
};

//- Check every setting before opening a bundle, the same bounds and messages for every host: the
//  first bad one throws SettingError (signs, interval, warm_start_time, then the runtime's bounds
//  and names as check_settings and check_ensemble apply them).
void check_settings(const Settings& settings);

//- Check ensemble settings before opening a bundle, as check_settings: members in 1 ..= 1024 (the
//  CLI's --ensemble), and max_spread (a threshold on the ensemble's relative spread, given) > 0,
//  which needs members >= 2. Throws with a message that starts with the setting's name
//  ("ensemble", "maxSpread").
void check_ensemble(std::size_t members);
void check_ensemble(std::size_t members, double max_spread);

//- What the accuracy monitor found at one predicted time (Surrogate::score): per field, the
//  relative L2 error and the relative ensemble spread (empty without solver values, without an
//  ensemble), the log's summary, and the reason to stop (empty: none).
struct Scores
{
    std::vector<double> errors;
    std::vector<double> spreads;
    std::string summary;
    std::string stop;
};

//- One bundle, its ONNX Runtime sessions, and one host mesh. Movable, not copyable.
class Surrogate
{
public:
    //- Open and validate the bundle in `bundle_dir`, load ONNX Runtime and create the sessions.
    //  device: "cpu", "cuda" or "cuda:N"; threads: per session (0: ONNX Runtime's default);
    //  ort_lib: path of libonnxruntime.so (empty: search, see above).
    explicit Surrogate
    (
        const std::string& bundle_dir,
        const std::string& device = "cpu",
        std::size_t threads = 0,
        const std::string& ort_lib = ""
    );
    ~Surrogate();
    Surrogate(Surrogate&&) noexcept;
    Surrogate& operator=(Surrogate&&) noexcept;
    Surrogate(const Surrogate&) = delete;
    Surrogate& operator=(const Surrogate&) = delete;

    // The bundle
    std::string name() const;
    //- Dimension of the latent grid (2 or 3).
    std::size_t dim() const;
    //- The fields, in channel order.
    std::vector<Field> fields() const;
    //- Values per location: the sum of the fields' components.
    std::size_t channels() const;
    //- Frames per segment, the frames a forecast observes at its start, time between frames.
    std::size_t frames() const;
    std::size_t context_frames() const;
    double dt() const;
    //- Names of the PDE parameters the bundle can be conditioned on.
    std::vector<std::string> parameters() const;

    // Settings
    //- ODE steps (0: the bundle's) and method ("euler", "midpoint", "rk4"; "": the bundle's).
    void set_sampler(std::size_t steps, const std::string& method = "");
    //- Restart the noise: the same seed and calls give the same results on one machine.
    void set_seed(std::uint64_t seed);
    //- Condition on parameters, each "NAME=VALUE" (checked against the bundle's ranges).
    //  An empty list: unconditional.
    void set_parameters(const std::vector<std::string>& name_equals_value);
    //- Throws unless `fields` (names and components, in order) are the bundle's fields and `dim`
    //  (the mesh's number of solved directions) is the bundle's dimension.
    void check_case(const std::vector<Field>& fields, std::size_t dim) const;

    // Serial hosts
    //- Register the n locations (once; builds and caches the neighbour structures).
    void set_mesh(const double* xyz, std::size_t n);
    //- A snapshot at `time`: values at the n locations (n * channels()). Keeps the last
    //  context_frames() snapshots.
    void push_snapshot(double time, const double* values);

    // Distributed hosts: the protocol in the core, over the host's Communicator. Every rank calls
    // these (then prediction() at its own locations); a failure on any rank throws on every rank.
    //- This rank's n locations and their global ids (unique over the ranks).
    void set_mesh(Communicator& comm, const double* xyz, const std::int64_t* global_ids, std::size_t n);
    //- A snapshot at `time` (the same on every rank): values at this rank's n locations.
    void push_snapshot(Communicator& comm, double time, const double* values);
    //- Forecast on the master, decoded frames to every rank; returns the count.
    std::size_t forecast(Communicator& comm, std::size_t horizon = 0);
    //- Generate on the master, decoded frames to every rank; returns the count.
    std::size_t generate(Communicator& comm, double t0);

    //- Local candidates: the locations some latent grid node may need (after set_mesh).
    std::size_t candidate_count() const;
    //- Master: latent grid nodes covered by the mesh (the encoder's coverage channel, per the
    //  bundle's lift.footprint), after set_mesh; 0 on the other ranks.
    std::size_t covered_nodes() const;
    //- Snapshots held (on the master).
    std::size_t snapshots() const;
    //- Forget the snapshots, keep the mesh and its cached neighbour structures: to forecast again
    //  from the same (or an earlier) context, push it anew (a visualisation filter's re-run).
    void clear_snapshots();

    // Tasks (a serial host)
    //- Forecast `horizon` frames (0: one segment) after the last snapshot; returns the count.
    std::size_t forecast(std::size_t horizon = 0);
    //- Generate one segment from the parameters alone, frames at t0 + k dt(); returns the count.
    std::size_t generate(double t0);

    // Results (every rank)
    //- Times of the predicted frames.
    std::vector<double> predicted_times() const;
    //- Predicted frame k at this object's locations; out: n * channels(). With an ensemble:
    //  member 0, whose seed is set_seed's (a one-member run's prediction, to the batch's round-off).
    void prediction(std::size_t k, double* out);

    // Ensembles
    //- Sample `members` (1 ..= 1024; 1: a plain prediction) as one batch in the following
    //  forecasts and generations, member 0 with the seed, member k >= 1 with the k-th output of
    //  SplitMix64(seed), as the CLI's --ensemble; the noise restarts from the seed. Distributed
    //  hosts: every rank sets the same size (the master's frames of every member reach every rank).
    void set_ensemble(std::size_t members);
    std::size_t ensemble() const;
    //- The ensemble's mean and standard deviation (divisor members - 1) of frame k at this
    //  object's locations, component by component; mean, std_dev: n * channels() each. Every
    //  member is evaluated at the locations first, so the numbers are the CLI's --ensemble mean
    //  and _std at the same locations, and a distributed run's are a serial run's.
    void prediction_stats(std::size_t k, double* mean, double* std_dev);

    // The time loop of a host that runs next to a solver (every rank, the same calls)
    //- A run from `start` to `end_time` in steps of `time_step`: forecasts of `horizon` frames (0:
    //  one segment) every `interval` (<= 0: every horizon). Snapshots lie on start + k dt(), the
    //  solver's times within half a time step of them. Returns what the user should be warned of
    //  (a time step that does not divide dt(), an interval off the lattice). From then on
    //  push_snapshot(comm, ...) and forecast(comm, ...) record what succeeded.
    std::vector<std::string> set_schedule
    (
        double start,
        double end_time,
        double time_step,
        double interval,
        std::size_t horizon
    );
    //- Whether the solver time t is a snapshot (false once stopped).
    bool snapshot_due(double t, double time_step) const;
    //- The predicted frames the solver time t is compared with (within half a time step).
    std::vector<std::size_t> frames_at(double t, double time_step) const;
    //- After the snapshot at t: whether a forecast from it is due.
    bool forecast_due(double t, double time_step) const;
    //- No more snapshots or forecasts (maxSpread).
    void stop_schedule();

    // The accuracy monitor of a host that runs next to a solver
    //- Every rank (a collective call): per field (the bundle's order), the relative L2 error of
    //  `predicted` against the solver's values `solver` (null: none), and with `std_dev` (null
    //  without an ensemble; `predicted` is then the ensemble's mean) the relative spread
    //  RMS(std)/RMS(mean), each summed over every rank's locations (n * channels() values each).
    //  Scores::summary is the log's account at time t with the given lead (with solver values);
    //  Scores::stop names the field whose spread exceeds max_spread (> 0) the most, if any.
    //- A table of scores (one row per score() with solver values: time, lead, then the Scores'
    //  errors and spreads): its title, and its columns after time and lead ("T", "spread(T)").
    std::string score_title() const;
    std::vector<std::string> score_columns() const;
    Scores score
    (
        Communicator& comm,
        double t,
        double lead,
        const double* solver,
        const double* predicted,
        const double* std_dev,
        double max_spread = 0
    ) const;

    //- Number of locations registered (set_mesh).
    std::size_t size() const;

    // The bundle's parameters in full, and the serial tasks of a visualisation filter
    //- The PDE parameters with their ranges, defaults and units (set_parameters checks the ranges).
    std::vector<Parameter> parameter_info() const;
    //- Serial hosts, after set_mesh: recover the frames before the given snapshots (the CLI's
    //  inverse: the last frames() - 1 are observed at the end of one segment). values holds
    //  times.size() snapshots at the registered locations, one after the other (n * channels()
    //  each). Returns the count; predicted_times() lie before the first observed snapshot.
    std::size_t inverse(const std::vector<double>& times, const double* values);
    //- Serial hosts, after set_mesh: fill the frames missing between the given snapshots (the
    //  CLI's interpolate: snapshot times t0 + k dt(), k < frames()). Layout as inverse().
    std::size_t interpolate(const std::vector<double>& times, const double* values);
    //- Every frame of the last task at n other locations (a denser mesh: super-resolution, the
    //  CLI's --query); the registered mesh fixed the grid. out: predicted_times().size() * n *
    //  channels(), frame-major.
    void predictions_at(const double* xyz, std::size_t n, double* out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace echo

#endif
