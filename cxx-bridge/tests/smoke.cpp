// Smoke test of include/echo_onnx.hpp as a host sees it: only the public header and the static
// library. Runs with floating-point traps enabled (like OpenFOAM's FOAM_SIGFPE), checks that
// errors arrive as echo::Error with the core's message, that a serial forecast gives finite
// values, and that the distributed protocol over a Communicator (one rank; two "ranks" as
// threads) reproduces it exactly.
// Usage: smoke BUNDLE_DIR   (exit 0 on success). SPDX-License-Identifier: MIT OR Apache-2.0
#include "echo_onnx.hpp"

#include <cfenv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define CHECK(c) do { if (!(c)) { std::fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #c); std::exit(1); } } while (0)

//- Ranks as threads: gather and broadcast through shared slots, a barrier on either side.
struct Ranks
{
    std::mutex m;
    std::condition_variable cv;
    std::size_t ranks, waiting = 0, generation = 0;
    std::vector<std::vector<double>> slots;
    explicit Ranks(std::size_t n) : ranks(n), slots(n) {}
    void barrier()
    {
        std::unique_lock<std::mutex> lock(m);
        const std::size_t g = generation;
        if (++waiting == ranks) { waiting = 0; ++generation; cv.notify_all(); }
        else cv.wait(lock, [&] { return generation != g; });
    }
};

struct ThreadRank : echo::Communicator
{
    Ranks& s;
    std::size_t r;
    ThreadRank(Ranks& shared, std::size_t rank) : s(shared), r(rank) {}
    std::size_t rank() const override { return r; }
    std::size_t ranks() const override { return s.ranks; }
    std::vector<double> gather(const std::vector<double>& local) override
    {
        { std::lock_guard<std::mutex> lock(s.m); s.slots[r] = local; }
        s.barrier();
        std::vector<double> out;
        if (r == 0) { std::lock_guard<std::mutex> lock(s.m); for (const auto& v : s.slots) out.insert(out.end(), v.begin(), v.end()); }
        s.barrier();
        return out;
    }
    std::vector<double> broadcast(const std::vector<double>& data) override
    {
        if (r == 0) { std::lock_guard<std::mutex> lock(s.m); s.slots[0] = data; }
        s.barrier();
        std::vector<double> out;
        { std::lock_guard<std::mutex> lock(s.m); out = s.slots[0]; }
        s.barrier();
        return out;
    }
};

int main(int argc, char** argv)
{
    CHECK(argc == 2);
    feenableexcept(FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW);

    try
    {
        echo::Surrogate bad("/nonexistent/bundle");
        CHECK(false);
    }
    catch (const echo::Error& e)
    {
        CHECK(std::string(e.what()).find("bundle directory '/nonexistent/bundle' does not exist") != std::string::npos);
        CHECK(std::string(e.what()).find('\x1f') == std::string::npos);  // the kind is not part of the message
        CHECK(e.kind() == echo::ErrorKind::Manifest && std::string(echo::name(e.kind())) == "manifest");
    }

    const std::size_t nx = 40, n = nx*nx;
    std::vector<double> xyz(3*n), values(n);
    std::vector<std::int64_t> ids(n);
    for (std::size_t j = 0; j < nx; ++j)
    for (std::size_t i = 0; i < nx; ++i)
    {
        const std::size_t k = j*nx + i;
        xyz[3*k] = (i + 0.5)/nx; xyz[3*k + 1] = (j + 0.5)/nx; xyz[3*k + 2] = 0.05;
        values[k] = std::sin(6.28318*xyz[3*k])*std::cos(6.28318*xyz[3*k + 1]);
        ids[k] = k;
    }

    echo::Surrogate s(argv[1], "cpu", 1);
    CHECK(s.dim() == 2 && s.channels() == 1 && s.fields().at(0).name == "vorticity");
    s.check_case({{"vorticity", 1}}, 2);
    try { s.check_case({{"T", 1}}, 2); CHECK(false); }
    catch (const echo::Error& e)
    {
        CHECK(std::string(e.what()).find("but the case gives [T (1 comp.)]") != std::string::npos);
        CHECK(e.kind() == echo::ErrorKind::MissingField);
    }
    s.set_sampler(3);
    s.set_seed(5);
    s.set_mesh(xyz.data(), n);
    s.push_snapshot(0.0, values.data());
    const std::size_t frames = s.forecast();
    CHECK(frames == s.frames() - s.context_frames());
    std::vector<std::vector<double>> serial(frames, std::vector<double>(n));
    for (std::size_t k = 0; k < frames; ++k)
    {
        s.prediction(k, serial[k].data());
        for (double v : serial[k]) CHECK(std::isfinite(v));
    }

    // The protocol in the core over a host's Communicator: one rank, then two ranks (threads) with
    // the left and right halves of the points. Both give the serial numbers.
    auto run = [&](echo::Communicator& comm, const std::vector<std::size_t>& mine)
    {
        echo::Surrogate r(argv[1], "cpu", 1);
        r.set_sampler(3);
        r.set_seed(5);
        std::vector<double> p, v;
        std::vector<std::int64_t> id;
        for (std::size_t k : mine) { p.insert(p.end(), &xyz[3*k], &xyz[3*k] + 3); id.push_back(ids[k]); v.push_back(values[k]); }
        r.set_mesh(comm, p.data(), id.data(), mine.size());
        r.push_snapshot(comm, 0.0, v.data());
        CHECK(r.forecast(comm) == frames);
        for (std::size_t k = 0; k < frames; ++k)
        {
            std::vector<double> out(mine.size());
            r.prediction(k, out.data());
            for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == serial[k][mine[i]]);
        }
    };
    std::vector<std::size_t> all(n), part[2];
    for (std::size_t k = 0; k < n; ++k) { all[k] = k; part[xyz[3*k] < 0.5 ? 0 : 1].push_back(k); }
    Ranks one(1);
    ThreadRank solo(one, 0);
    run(solo, all);
    Ranks two(2);
    ThreadRank left(two, 0), right(two, 1);
    std::thread other([&] { run(right, part[1]); });
    run(left, part[0]);
    other.join();
    // An ensemble of 4 through the header: its mean and std at the points; the settings' checks.
    s.set_ensemble(4);
    CHECK(s.ensemble() == 4);
    s.push_snapshot(0.1, values.data());
    CHECK(s.forecast() == frames);
    std::vector<double> mean(n), std_dev(n);
    s.prediction_stats(0, mean.data(), std_dev.data());
    std::size_t spread = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
        CHECK(std::isfinite(mean[i]) && std_dev[i] >= 0);
        spread += std_dev[i] > 0;
    }
    CHECK(spread > n/2);
    echo::check_ensemble(16, 0.2);
    try { echo::check_ensemble(0); CHECK(false); }
    catch (const echo::Error& e) { CHECK(std::string(e.what()).find("ensemble = 0 is out of range 1..=1024") == 0); }
    try { echo::check_ensemble(4, -1); CHECK(false); }
    catch (const echo::Error& e) { CHECK(std::string(e.what()).find("maxSpread = -1 must be a number > 0") == 0); }
    // The accuracy monitor over a Communicator: the mean against itself has no error, the spread
    // is the std's RMS over the mean's, a tiny maxSpread names the field.
    const echo::Scores sc = s.score(solo, 0.2, 0.1, mean.data(), mean.data(), std_dev.data(), 1e-9);
    CHECK(sc.errors.size() == 1 && sc.errors[0] == 0 && sc.spreads.size() == 1 && sc.spreads[0] > 0);
    CHECK(sc.summary.find("t = 0.2, lead 0.1: relative L2 error vorticity 0, ensemble spread vorticity ") == 0);
    CHECK(sc.stop.find("at t = 0.2 the ensemble spread of vorticity is ") == 0);
    CHECK(s.score(solo, 0.2, 0.1, mean.data(), mean.data(), std_dev.data()).stop.empty());
    CHECK(s.score_columns() == std::vector<std::string>({"vorticity", "spread(vorticity)"}));
    CHECK(s.score_title().find("ensemble mean (4 members)") != std::string::npos);
    // A host's settings at once: the first bad one is named.
    echo::Settings settings;
    echo::check_settings(settings);
    settings.steps = -3;
    try { echo::check_settings(settings); CHECK(false); }
    catch (const echo::SettingError& e)
    {
        CHECK(e.setting() == "steps" && std::string(e.what()) == "-3 is negative" && e.kind() == echo::ErrorKind::Usage);
    }
    settings.steps = 0;
    settings.warm_start = true;
    settings.warm_start_frame = long(s.frames());
    settings.frames = s.frames();
    try { echo::check_settings(settings); CHECK(false); }
    catch (const echo::SettingError& e) { CHECK(e.setting() == "warmStartFrame"); }
    // A solver's time loop: the time step 1/4 of dt, an interval of one dt past the context.
    const double dt = s.dt(), step = dt/4;
    s.clear_snapshots();
    s.set_ensemble(1);
    CHECK(s.set_schedule(0, 100*dt, step, 1.5*dt, 1).size() == 1);  // interval off the lattice
    std::size_t snapshots = 0, forecasts = 0;
    for (int i = 0; i <= 40; ++i)
    {
        const double t = i*step;
        if (!s.snapshot_due(t, step)) continue;
        for (const std::size_t k : s.frames_at(t, step)) CHECK(std::fabs(s.predicted_times()[k] - t) < step);
        s.push_snapshot(solo, t, values.data());
        ++snapshots;
        if (s.forecast_due(t, step)) { CHECK(s.forecast(solo, 1) == 1); ++forecasts; }
    }
    // Snapshots at 0, dt, .., 10 dt; forecasts every 2 dt once the context is held.
    const std::size_t context = s.context_frames();
    CHECK(snapshots == 11 && forecasts == (11 - context)/2 + 1);
    s.stop_schedule();
    CHECK(!s.snapshot_due(11*dt, step));
    std::printf("smoke: ok (%zu frames at %zu points; 1- and 2-rank protocol identical; ensemble of 4)\n", frames, n);
    return 0;
}
