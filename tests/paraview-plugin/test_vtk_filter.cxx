// Plain VTK (no ParaView) test of vtkEchoForecast: forecast the Navier-Stokes example and compare
// every frame with the CLI's output for the same bundle, input, parameters and seed; check that a
// second run with only the seed changed reuses the mesh (cheaper), that moving through time costs
// no new forecast, and that a bundle whose fields the dataset lacks is reported as a VTK error
// (the core's message) without throwing. Then the bundle's parameters as the filter lists them
// (against the manifest's name, range and default), an out-of-range parameter reported with the
// core's text, the forecast on a second (denser) mesh against the CLI's --query, and the Inverse
// task against the CLI's inverse.
// Usage: test_vtk_filter BUNDLE INPUT.vtu CLI_OUT_DIR FRAMES SEED PARAM BAD_BUNDLE PARAM2
//          DENSE.vtu CLI_QUERY_DIR CLI_INVERSE_DIR PARAM_NAME PARAM_MIN PARAM_MAX PARAM_DEFAULT
// SPDX-License-Identifier: MIT OR Apache-2.0
#include "vtkEchoForecast.h"

#include "vtkAlgorithmOutput.h"
#include "vtkCommand.h"
#include "vtkDataArray.h"
#include "vtkDataSet.h"
#include "vtkInformation.h"
#include "vtkNew.h"
#include "vtkPointData.h"
#include "vtkStreamingDemandDrivenPipeline.h"
#include "vtkUnstructuredGrid.h"
#include "vtkXMLUnstructuredGridReader.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace
{
int failures = 0;
void check(bool ok, const std::string& what)
{
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  failures += ok ? 0 : 1;
}

struct ErrorCatcher : vtkCommand
{
  static ErrorCatcher* New() { return new ErrorCatcher; }
  std::string Message;
  void Execute(vtkObject*, unsigned long, void* data) override
  {
    Message += data ? static_cast<const char*>(data) : "";
  }
};

// Every output time step of `f` against the CLI's frame_NNNN.vtu in `dir` (point array `name`),
// at the CLI's Float32: the largest difference, or -1 when a frame is missing or of another size.
double compareWithCli(vtkEchoForecast* f, const std::string& dir, const char* name, int& steps)
{
  f->UpdateInformation();
  vtkInformation* outInfo = f->GetOutputInformation(0);
  steps = outInfo->Length(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  std::vector<double> times(steps);
  for (int k = 0; k < steps; ++k)
  {
    times[k] = outInfo->Get(vtkStreamingDemandDrivenPipeline::TIME_STEPS())[k];
  }
  double worst = steps > 0 ? 0.0 : -1.0;
  for (int k = 0; k < steps; ++k)
  {
    f->UpdateTimeStep(times[k]);
    vtkDataSet* out = vtkDataSet::SafeDownCast(f->GetOutputDataObject(0));
    vtkDataArray* got = out ? out->GetPointData()->GetArray(name) : nullptr;
    char file[64];
    std::snprintf(file, sizeof file, "/frame_%04d.vtu", k);
    vtkNew<vtkXMLUnstructuredGridReader> cli;
    cli->SetFileName((dir + file).c_str());
    cli->Update();
    vtkDataArray* want = cli->GetOutput()->GetPointData()->GetArray(name);
    if (!got || !want || got->GetNumberOfTuples() != want->GetNumberOfTuples() ||
      got->GetNumberOfComponents() != want->GetNumberOfComponents())
    {
      std::printf("frame %d: %s missing or of another size (%s%s)\n", k, name, dir.c_str(), file);
      return -1.0;
    }
    for (vtkIdType i = 0; i < got->GetNumberOfTuples(); ++i)
    {
      for (int c = 0; c < got->GetNumberOfComponents(); ++c)
      {
        const double a = static_cast<float>(got->GetComponent(i, c)), b = want->GetComponent(i, c);
        worst = std::max(worst, std::fabs(a - b));
      }
    }
  }
  return worst;
}
} // namespace

int main(int argc, char** argv)
{
  if (argc != 16)
  {
    std::fprintf(stderr,
      "usage: %s BUNDLE INPUT.vtu CLI_OUT_DIR FRAMES SEED PARAM BAD_BUNDLE PARAM2 DENSE.vtu CLI_QUERY_DIR "
      "CLI_INVERSE_DIR PARAM_NAME PARAM_MIN PARAM_MAX PARAM_DEFAULT\n",
      argv[0]);
    return 2;
  }
  const std::string bundle = argv[1], cliDir = argv[3];
  const int frames = std::atoi(argv[4]);
  const unsigned long long seed = std::strtoull(argv[5], nullptr, 10);

  vtkNew<vtkXMLUnstructuredGridReader> reader;
  reader->SetFileName(argv[2]);
  vtkNew<vtkEchoForecast> f;
  f->SetInputConnection(reader->GetOutputPort());
  f->SetBundlePath(bundle.c_str());
  f->SetHorizon(frames);
  f->SetSeed(static_cast<int>(seed));
  f->AddParameter(argv[6]);

  // Time steps of the output: one per predicted frame.
  auto clock = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  double t0 = clock();
  f->UpdateInformation();
  vtkInformation* outInfo = f->GetOutputInformation(0);
  int nt = outInfo->Length(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  check(nt == frames, "output has " + std::to_string(nt) + " time steps, expected " + std::to_string(frames));
  const double* times = outInfo->Get(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  const double firstTime = nt > 0 ? times[0] : 0.0; // (times dangles once the information changes)

  auto frameValues = [&f]() {
    std::vector<double> v;
    vtkDataSet* ds = vtkDataSet::SafeDownCast(f->GetOutputDataObject(0));
    vtkDataArray* a = ds ? ds->GetPointData()->GetArray("vorticity") : nullptr;
    for (vtkIdType i = 0; a && i < a->GetNumberOfTuples(); ++i)
    {
      v.push_back(a->GetComponent(i, 0));
    }
    return v;
  };
  std::vector<double> first;
  double worst = 0, scale = 0;
  double firstRun = 0;
  for (int k = 0; k < nt; ++k)
  {
    f->UpdateTimeStep(times[k]);
    if (k == 0)
    {
      firstRun = clock() - t0; // opens the bundle, registers the mesh, forecasts
      first = frameValues();
    }
    vtkDataArray* got = vtkDataSet::SafeDownCast(f->GetOutputDataObject(0))->GetPointData()->GetArray("vorticity");
    char name[64];
    std::snprintf(name, sizeof name, "/frame_%04d.vtu", k);
    vtkNew<vtkXMLUnstructuredGridReader> cli;
    cli->SetFileName((cliDir + name).c_str());
    cli->Update();
    vtkDataArray* want = cli->GetOutput()->GetPointData()->GetArray("vorticity");
    if (!got || !want || got->GetNumberOfTuples() != want->GetNumberOfTuples())
    {
      check(false, std::string("frame ") + std::to_string(k) + ": vorticity missing or of another size (" + cliDir + name + ")");
      continue;
    }
    for (vtkIdType i = 0; i < got->GetNumberOfTuples(); ++i)
    {
      // The CLI writes Float32: compare at that precision.
      double a = got->GetComponent(i, 0), b = want->GetComponent(i, 0);
      worst = std::max(worst, std::fabs(static_cast<double>(static_cast<float>(a)) - b));
      scale = std::max(scale, std::fabs(b));
    }
  }
  std::printf("max |filter - CLI| = %g (max |CLI| = %g)\n", worst, scale);
  check(worst <= 1e-6 * std::max(1.0, scale), "every frame equals the CLI's (Float32 precision)");
  const double timeOnly = f->GetLastExecuteSeconds();

  // Only a parameter changes (this bundle's forecast hardly depends on the seed: its sampler starts
  // from the encoded context): the sessions stay open.
  f->ClearParameters();
  f->AddParameter(argv[8]);
  t0 = clock();
  f->UpdateTimeStep(times[0]);
  const double secondRun = clock() - t0; // the sessions stay open
  std::printf("forecasts run: %d, bundle opened: %d, mesh registered: %d\n", f->GetForecastCount(),
    f->GetOpenCount(), f->GetMeshCount());
  check(f->GetForecastCount() == 2 && f->GetOpenCount() == 1 && f->GetMeshCount() == 1,
    "a parameter change forecasts again on the open bundle and the registered mesh");
  check(!first.empty() && frameValues().size() == first.size() && frameValues() != first,
    "another parameter value gives another forecast");
  f->ClearParameters();
  f->AddParameter(argv[6]);
  f->UpdateTimeStep(times[0]);
  check(frameValues() == first, "the first parameter value again gives the first forecast again");
  std::printf("first Apply %.3f s, second Apply (parameter changed) %.3f s, time step change %.3f s\n", firstRun,
    secondRun, timeOnly);
  // Timings are reported, not asserted (noisy on a loaded machine); the counters above check reuse.
  check(timeOnly < 0.25 * secondRun, "moving through time reuses the forecast");

  // A bundle whose fields the dataset lacks: a VTK error with the core's or the filter's text.
  vtkNew<ErrorCatcher> catcher;
  f->AddObserver(vtkCommand::ErrorEvent, catcher);
  f->SetBundlePath(argv[7]);
  f->Update();
  std::printf("error reported: %s\n", catcher->Message.c_str());
  check(catcher->Message.find("lacks the bundle's field") != std::string::npos, "missing field reported as a VTK error");
  f->SetBundlePath("/nonexistent-bundle");
  catcher->Message.clear();
  f->Update();
  check(!catcher->Message.empty(), "a missing bundle is reported as a VTK error: " + catcher->Message.substr(0, 80));

  // The bundle's parameters, as the manifest declares them.
  f->SetBundlePath(bundle.c_str());
  f->ClearParameters();
  f->AddParameter(argv[6]);
  const std::string info = f->GetParameterInfo();
  std::printf("bundle parameters: %s\n", info.c_str());
  const double pmin = std::atof(argv[13]), pmax = std::atof(argv[14]), pdefault = std::atof(argv[15]);
  check(f->GetNumberOfBundleParameters() == 1 && std::string(f->GetBundleParameterName(0)) == argv[12] &&
      f->GetBundleParameterMin(0) == pmin && f->GetBundleParameterMax(0) == pmax &&
      f->GetBundleParameterDefault(0) == pdefault,
    std::string("the filter lists the manifest's parameter ") + argv[12] + " [" + argv[13] + ", " + argv[14] +
      "], default " + argv[15]);
  check(info.find(std::string(argv[12]) + " in [") != std::string::npos && info.find("default") != std::string::npos,
    "the parameter text names the parameter, its range and default");

  // Out of range: the core's message as a VTK error, an empty output; then a good value works again.
  catcher->Message.clear();
  f->ClearParameters();
  f->AddParameter((std::string(argv[12]) + "=" + std::to_string(pmax * 10)).c_str());
  f->UpdateTimeStep(firstTime);
  std::printf("error reported: %s\n", catcher->Message.c_str());
  check(catcher->Message.find("outside the bundle's range") != std::string::npos,
    "an out-of-range parameter is reported as a VTK error with the core's text");
  vtkDataSet* empty = vtkDataSet::SafeDownCast(f->GetOutputDataObject(0));
  check(empty && empty->GetNumberOfPoints() == 0, "an out-of-range parameter leaves an empty output");
  f->ClearParameters();
  f->AddParameter(argv[6]);
  f->UpdateTimeStep(firstTime);
  check(frameValues() == first, "a parameter back in range gives the first forecast again");

  // A second, denser mesh (port 1): the prediction at its points equals the CLI's --query.
  const int opens = f->GetOpenCount(), meshes = f->GetMeshCount();
  vtkNew<vtkXMLUnstructuredGridReader> dense;
  dense->SetFileName(argv[9]);
  f->SetTargetMeshConnection(dense->GetOutputPort());
  int steps = 0;
  double start = clock();
  double diff = compareWithCli(f, argv[10], "vorticity", steps);
  std::printf("target mesh: %d time steps, max |filter - CLI --query| = %g (%.3f s)\n", steps, diff, clock() - start);
  dense->Update();
  vtkDataSet* out = vtkDataSet::SafeDownCast(f->GetOutputDataObject(0));
  check(out && out->GetNumberOfPoints() == dense->GetOutput()->GetNumberOfPoints() &&
      out->GetNumberOfCells() == dense->GetOutput()->GetNumberOfCells(),
    "with a target mesh the output is that mesh (" + std::to_string(dense->GetOutput()->GetNumberOfPoints()) + " points)");
  check(steps == frames && diff == 0.0, "every frame on the target mesh equals the CLI's --query at Float32");
  f->SetInputConnection(1, nullptr);

  // The Inverse task: the frames before the input, against the CLI's inverse.
  f->SetTask(vtkEchoForecast::INVERSE);
  diff = compareWithCli(f, argv[11], "vorticity", steps);
  std::printf("inverse: %d time steps, max |filter - CLI inverse| = %g\n", steps, diff);
  f->UpdateInformation();
  const double* inverseTimes = f->GetOutputInformation(0)->Get(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  check(steps > 0 && inverseTimes && inverseTimes[steps - 1] < 0.0, "inverse frames lie before the input (t = 0)");
  check(steps > 0 && diff == 0.0, "every inverse frame equals the CLI's at Float32");
  std::printf("bundle opened: %d, mesh registered: %d (before the target mesh and Inverse: %d, %d)\n",
    f->GetOpenCount(), f->GetMeshCount(), opens, meshes);
  check(f->GetOpenCount() == opens && f->GetMeshCount() == meshes,
    "a target mesh and another Task reuse the open bundle and the registered mesh");

  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
