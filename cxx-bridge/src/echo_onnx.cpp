// The facade of include/echo_onnx.hpp over the cxx-generated bindings.
// SPDX-License-Identifier: MIT OR Apache-2.0

#include "echo_onnx.hpp"

#include <cfenv>

#include "comm.h"
#include "echo-onnx-cxx/src/lib.rs.h"
#include "rust/cxx.h"

namespace echo
{

namespace
{

//- Masks floating-point exceptions for the lifetime of the guard and restores the caller's
//  environment (trap mask and flags) afterwards: flags raised inside do not leak out.
class FpGuard
{
    std::fenv_t saved_;

public:
    FpGuard() { std::feholdexcept(&saved_); }
    ~FpGuard() { std::fesetenv(&saved_); }
    FpGuard(const FpGuard&) = delete;
    FpGuard& operator=(const FpGuard&) = delete;
};

const char* const kindNames[] = {"io", "mesh-format", "missing-field", "field-shape", "non-finite", "outside-grid", "manifest",
    "bundle-graph", "runtime-missing", "device", "inference", "usage", "output", "internal"};
const std::size_t kinds = sizeof(kindNames)/sizeof(kindNames[0]);

//- The bridge's "<kind>\x1f<message>" as an echo::Error (no separator: Internal, all message).
Error error(const std::string& tagged)
{
    const std::size_t sep = tagged.find('\x1f');
    if (sep != std::string::npos)
    {
        const std::string kind = tagged.substr(0, sep);
        for (std::size_t k = 0; k < kinds; ++k)
        {
            if (kind == kindNames[k]) return Error(static_cast<ErrorKind>(k), tagged.substr(sep + 1));
        }
    }
    return Error(ErrorKind::Internal, sep == std::string::npos ? tagged : tagged.substr(sep + 1));
}

//- Run `f` with FP exceptions masked; rethrow the core's errors as echo::Error.
template<class F>
auto call(F&& f) -> decltype(f())
{
    FpGuard guard;
    try
    {
        return f();
    }
    catch (const rust::Error& e)
    {
        throw error(e.what());
    }
}

template<class T>
rust::Slice<const T> in(const T* data, std::size_t n)
{
    return n ? rust::Slice<const T>(data, n) : rust::Slice<const T>();
}

template<class T>
rust::Slice<T> out(T* data, std::size_t n)
{
    return n ? rust::Slice<T>(data, n) : rust::Slice<T>();
}

} // namespace

namespace ffi
{

rust::Vec<double> Comm::gather(rust::Slice<const double> local)
{
    rust::Vec<double> out;
    for (double v : c_.gather(std::vector<double>(local.begin(), local.end()))) out.push_back(v);
    return out;
}

rust::Vec<double> Comm::broadcast(rust::Slice<const double> data)
{
    rust::Vec<double> out;
    for (double v : c_.broadcast(std::vector<double>(data.begin(), data.end()))) out.push_back(v);
    return out;
}

} // namespace ffi

const char* name(ErrorKind kind)
{
    const std::size_t k = static_cast<std::size_t>(kind);
    return k < kinds ? kindNames[k] : "internal";
}


void check_settings
(
    const std::string& device,
    const std::string& method,
    std::size_t steps,
    std::size_t horizon,
    std::size_t threads
)
{
    call([&] {
        ffi::check_settings(device, method, steps, horizon, threads);
        return 0;
    });
}


void check_settings(const Settings& s)
{
    const ffi::SettingProblem p = call([&] {
        return ffi::check_host_settings(ffi::HostSettings{
            s.device, s.method, s.threads, s.horizon, s.steps, s.seed, s.warm_start_frame, s.ensemble,
            s.has_interval, s.interval, s.has_max_spread, s.max_spread,
            s.warm_start, s.warm_start_time, s.end_time, s.time_step, s.frames});
    });
    if (!p.setting.empty())
    {
        const Error e = error(std::string(p.kind) + '\x1f' + std::string(p.message));
        throw SettingError(e.kind(), std::string(p.setting), e.what());
    }
}


struct Surrogate::Impl
{
    rust::Box<ffi::Surrogate> s;
    std::size_t n = 0;
    std::size_t channels = 0;
    std::size_t candidates = 0;

    explicit Impl(rust::Box<ffi::Surrogate>&& b) : s(std::move(b)) {}
};


Surrogate::Surrogate
(
    const std::string& bundle_dir,
    const std::string& device,
    std::size_t threads,
    const std::string& ort_lib
)
{
    call([&] {
        impl_.reset(new Impl(ffi::open(bundle_dir, device, threads, ort_lib)));
        for (std::size_t c : impl_->s->field_components()) impl_->channels += c;
        return 0;
    });
}

Surrogate::~Surrogate()
{
    FpGuard guard;
    impl_.reset();
}

Surrogate::Surrogate(Surrogate&&) noexcept = default;
Surrogate& Surrogate::operator=(Surrogate&&) noexcept = default;

std::string Surrogate::name() const
{
    return call([&] { return std::string(impl_->s->name()); });
}

std::size_t Surrogate::dim() const
{
    return call([&] { return impl_->s->dim(); });
}

std::vector<Field> Surrogate::fields() const
{
    return call([&] {
        std::vector<Field> out;
        auto names = impl_->s->field_names();
        auto comps = impl_->s->field_components();
        for (std::size_t i = 0; i < names.size(); ++i)
        {
            out.push_back(Field{std::string(names[i]), comps[i]});
        }
        return out;
    });
}

std::size_t Surrogate::channels() const
{
    return impl_->channels;
}

std::size_t Surrogate::frames() const
{
    return call([&] { return impl_->s->frames(); });
}

std::size_t Surrogate::context_frames() const
{
    return call([&] { return impl_->s->context_frames(); });
}

double Surrogate::dt() const
{
    return call([&] { return impl_->s->dt(); });
}

std::vector<std::string> Surrogate::parameters() const
{
    return call([&] {
        std::vector<std::string> out;
        for (const auto& n : impl_->s->parameter_names()) out.emplace_back(std::string(n));
        return out;
    });
}

void Surrogate::set_sampler(std::size_t steps, const std::string& method)
{
    call([&] { impl_->s->set_sampler(steps, method); return 0; });
}

void Surrogate::set_seed(std::uint64_t seed)
{
    call([&] { impl_->s->set_seed(seed); return 0; });
}

void Surrogate::set_parameters(const std::vector<std::string>& given)
{
    call([&] {
        rust::Vec<rust::String> v;
        for (const auto& g : given) v.push_back(rust::String(g));
        impl_->s->set_parameters(v);
        return 0;
    });
}

void Surrogate::check_case(const std::vector<Field>& fields, std::size_t dim) const
{
    call([&] {
        rust::Vec<rust::String> names;
        rust::Vec<std::size_t> comps;
        for (const auto& f : fields)
        {
            names.push_back(rust::String(f.name));
            comps.push_back(f.components);
        }
        impl_->s->check_case(names, comps, dim);
        return 0;
    });
}

void Surrogate::set_mesh(const double* xyz, std::size_t n)
{
    call([&] {
        impl_->s->set_mesh(in(xyz, 3*n));
        impl_->n = n;
        impl_->candidates = impl_->s->candidate_count();
        return 0;
    });
}

void Surrogate::push_snapshot(double time, const double* values)
{
    call([&] { impl_->s->push_snapshot(time, in(values, impl_->n*impl_->channels)); return 0; });
}

void Surrogate::set_mesh(Communicator& comm, const double* xyz, const std::int64_t* ids, std::size_t n)
{
    call([&] {
        ffi::Comm c(comm);
        impl_->s->set_mesh_on(c, in(xyz, 3*n), in(ids, n));
        impl_->n = n;
        impl_->candidates = impl_->s->candidate_count();
        return 0;
    });
}

void Surrogate::push_snapshot(Communicator& comm, double time, const double* values)
{
    call([&] {
        ffi::Comm c(comm);
        impl_->s->push_snapshot_on(c, time, in(values, impl_->n*impl_->channels));
        return 0;
    });
}

std::size_t Surrogate::forecast(Communicator& comm, std::size_t horizon)
{
    return call([&] { ffi::Comm c(comm); return impl_->s->forecast_on(c, horizon); });
}

std::size_t Surrogate::generate(Communicator& comm, double t0)
{
    return call([&] { ffi::Comm c(comm); return impl_->s->generate_on(c, t0); });
}

std::size_t Surrogate::candidate_count() const
{
    return impl_->candidates;
}

std::size_t Surrogate::covered_nodes() const
{
    return call([&] { return impl_->s->covered_nodes(); });
}

std::size_t Surrogate::snapshots() const
{
    return call([&] { return impl_->s->snapshots(); });
}

void Surrogate::clear_snapshots()
{
    call([&] { impl_->s->clear_snapshots(); });
}

std::size_t Surrogate::forecast(std::size_t horizon)
{
    return call([&] { return impl_->s->forecast(horizon); });
}

std::size_t Surrogate::generate(double t0)
{
    return call([&] { return impl_->s->generate(t0); });
}

std::vector<double> Surrogate::predicted_times() const
{
    return call([&] {
        auto t = impl_->s->predicted_times();
        return std::vector<double>(t.begin(), t.end());
    });
}

void Surrogate::prediction(std::size_t k, double* result)
{
    call([&] { impl_->s->prediction(k, out(result, impl_->n*impl_->channels)); return 0; });
}

void check_ensemble(std::size_t members)
{
    call([&] { ffi::check_ensemble(members, 0.0, false); return 0; });
}

void check_ensemble(std::size_t members, double max_spread)
{
    call([&] { ffi::check_ensemble(members, max_spread, true); return 0; });
}

void Surrogate::set_ensemble(std::size_t members)
{
    call([&] { impl_->s->set_ensemble(members); return 0; });
}

std::size_t Surrogate::ensemble() const
{
    return call([&] { return impl_->s->ensemble(); });
}

void Surrogate::prediction_stats(std::size_t k, double* mean, double* std_dev)
{
    const std::size_t n = impl_->n*impl_->channels;
    call([&] { impl_->s->prediction_stats(k, out(mean, n), out(std_dev, n)); return 0; });
}

std::vector<std::string> Surrogate::set_schedule
(
    double start,
    double end_time,
    double time_step,
    double interval,
    std::size_t horizon
)
{
    return call([&] {
        std::vector<std::string> out;
        for (const auto& w : impl_->s->set_schedule(start, end_time, time_step, interval, interval > 0, horizon))
        {
            out.emplace_back(std::string(w));
        }
        return out;
    });
}

bool Surrogate::snapshot_due(double t, double time_step) const
{
    return call([&] { return impl_->s->snapshot_due(t, time_step); });
}

std::vector<std::size_t> Surrogate::frames_at(double t, double time_step) const
{
    return call([&] {
        const rust::Vec<std::size_t> k = impl_->s->frames_at(t, time_step);
        return std::vector<std::size_t>(k.begin(), k.end());
    });
}

bool Surrogate::forecast_due(double t, double time_step) const
{
    return call([&] { return impl_->s->forecast_due(t, time_step); });
}

void Surrogate::stop_schedule()
{
    call([&] {
        impl_->s->stop_schedule();
        return 0;
    });
}

std::string Surrogate::score_title() const
{
    return call([&] { return std::string(impl_->s->score_title()); });
}

std::vector<std::string> Surrogate::score_columns() const
{
    return call([&] {
        std::vector<std::string> out;
        for (const auto& c : impl_->s->score_columns()) out.emplace_back(std::string(c));
        return out;
    });
}

Scores Surrogate::score
(
    Communicator& comm,
    double t,
    double lead,
    const double* solver,
    const double* predicted,
    const double* std_dev,
    double max_spread
) const
{
    const std::size_t n = impl_->n*impl_->channels;
    return call([&] {
        ffi::Comm c(comm);
        const ffi::HostScores s = impl_->s->score_on
        (
            c, t, lead, in(solver, solver ? n : 0), solver != nullptr, in(predicted, n),
            in(std_dev, std_dev ? n : 0), std_dev != nullptr, max_spread
        );
        return Scores
        {
            std::vector<double>(s.errors.begin(), s.errors.end()),
            std::vector<double>(s.spreads.begin(), s.spreads.end()),
            std::string(s.summary),
            std::string(s.stop)
        };
    });
}

std::size_t Surrogate::size() const
{
    return impl_->n;
}

std::vector<Parameter> Surrogate::parameter_info() const
{
    return call([&] {
        std::vector<Parameter> out;
        auto names = impl_->s->parameter_names();
        auto mins = impl_->s->parameter_mins();
        auto maxs = impl_->s->parameter_maxs();
        auto defaults = impl_->s->parameter_defaults();
        auto units = impl_->s->parameter_units();
        for (std::size_t i = 0; i < names.size(); ++i)
        {
            out.push_back(Parameter{std::string(names[i]), mins[i], maxs[i], defaults[i], std::string(units[i])});
        }
        return out;
    });
}

std::size_t Surrogate::inverse(const std::vector<double>& times, const double* values)
{
    return call([&] {
        return impl_->s->inverse_from(in(times.data(), times.size()), in(values, times.size()*impl_->n*impl_->channels));
    });
}

std::size_t Surrogate::interpolate(const std::vector<double>& times, const double* values)
{
    return call([&] {
        return impl_->s->interpolate_from(in(times.data(), times.size()), in(values, times.size()*impl_->n*impl_->channels));
    });
}

void Surrogate::predictions_at(const double* xyz, std::size_t n, double* result)
{
    call([&] {
        const std::size_t frames = impl_->s->predicted_times().size();
        impl_->s->predictions_at(in(xyz, 3*n), out(result, frames*n*impl_->channels));
        return 0;
    });
}

} // namespace echo
