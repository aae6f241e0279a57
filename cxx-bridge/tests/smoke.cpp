// Smoke test of include/echo_onnx.hpp as a host sees it: only the public header and the static
// library. Runs with floating-point traps enabled (like OpenFOAM's FOAM_SIGFPE), checks that
// errors arrive as echo::Error with the core's message, that a serial forecast gives finite
// values, and that the distributed protocol on two "ranks" reproduces it exactly.
// Usage: smoke BUNDLE_DIR   (exit 0 on success). SPDX-License-Identifier: MIT OR Apache-2.0
#include "echo_onnx.hpp"

#include <cfenv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(c) do { if (!(c)) { std::fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #c); std::exit(1); } } while (0)

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

    // Two ranks: the left and right halves of the points.
    const double lo[3] = {0.0125, 0.0125, 0.05}, hi[3] = {0.9875, 0.9875, 0.05};
    std::vector<std::size_t> part[2];
    for (std::size_t k = 0; k < n; ++k) part[xyz[3*k] < 0.5 ? 0 : 1].push_back(k);
    std::vector<echo::Surrogate> rank;
    std::vector<double> cloud_xyz, cloud_values;
    std::vector<std::int64_t> cloud_ids;
    std::size_t inside = 0;
    for (int r = 0; r < 2; ++r)
    {
        rank.emplace_back(argv[1], "cpu", 1);
        rank[r].set_sampler(3);
        rank[r].set_seed(5);
        std::vector<double> p; std::vector<std::int64_t> id; std::vector<double> v;
        for (std::size_t k : part[r]) { p.insert(p.end(), &xyz[3*k], &xyz[3*k] + 3); id.push_back(ids[k]); v.push_back(values[k]); }
        rank[r].set_local_mesh(p.data(), id.data(), part[r].size(), lo, hi);
        const std::size_t c = rank[r].candidate_count();
        std::vector<double> cx(3*c), cv(c); std::vector<std::int64_t> ci(c);
        rank[r].candidates(cx.data(), ci.data());
        rank[r].candidate_values(v.data(), cv.data());
        cloud_xyz.insert(cloud_xyz.end(), cx.begin(), cx.end());
        cloud_ids.insert(cloud_ids.end(), ci.begin(), ci.end());
        cloud_values.insert(cloud_values.end(), cv.begin(), cv.end());
        inside += rank[r].inside_count();
    }
    rank[0].set_cloud(cloud_xyz.data(), cloud_ids.data(), cloud_ids.size(), n, inside);
    rank[1].set_evaluation_only();
    rank[0].push_cloud_snapshot(0.0, cloud_values.data());
    CHECK(rank[0].forecast() == frames);
    rank[1].set_decoded(rank[0].predicted_times(), rank[0].decoded());
    for (std::size_t k = 0; k < frames; ++k)
    for (int r = 0; r < 2; ++r)
    {
        std::vector<double> out(part[r].size());
        rank[r].prediction(k, out.data());
        for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == serial[k][part[r][i]]);
    }
    // The protocol in the core over a host's Communicator, with one rank.
    struct One : echo::Communicator
    {
        std::size_t rank() const override { return 0; }
        std::size_t ranks() const override { return 1; }
        std::vector<double> gather(const std::vector<double>& v) override { return v; }
        std::vector<double> broadcast(const std::vector<double>& v) override { return v; }
    } one;
    echo::Surrogate c(argv[1], "cpu", 1);
    c.set_sampler(3);
    c.set_seed(5);
    c.set_mesh(one, xyz.data(), ids.data(), n);
    c.push_snapshot(one, 0.0, values.data());
    CHECK(c.forecast(one) == frames);
    for (std::size_t k = 0; k < frames; ++k)
    {
        std::vector<double> out(n);
        c.prediction(k, out.data());
        CHECK(out == serial[k]);
    }
    std::printf("smoke: ok (%zu frames at %zu points; 2-rank protocol and communicator identical)\n", frames, n);
    return 0;
}
