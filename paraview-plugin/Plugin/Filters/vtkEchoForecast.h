// vtkEchoForecast: an echo-onnx surrogate as a VTK filter. A dataset in (any vtkDataSet carrying
// the bundle's fields as point or cell data, one time step or a temporal series whose last frames
// are the context), the same mesh out with one output time step per predicted frame
// (TIME_STEPS), so that an animation plays the forecast. Built on the C++ bridge
// (include/echo_onnx.hpp), as the OpenFOAM function object is.
//
// Task: Forecast (the frames after the input), Inverse (the frames before it: the last
// frames - 1 input time steps observed at the end of one segment) or Interpolate (the frames
// missing between the input time steps, which lie on the bundle's time lattice in one segment),
// as the CLI's forecast, inverse and interpolate. An optional second input (port 1, "target
// mesh"), when connected, gives where the prediction is evaluated: its points (point data on its
// structure: super-resolution on a denser mesh), as the CLI's --query MESH; the first input's
// mesh still fixes the latent grid and the lift.
//
// Caching: the bundle's sessions stay open while BundlePath, Device and Threads are unchanged; the
// mesh's neighbour structures stay while the input's points (or cells) are unchanged; the
// predicted frames stay while no setting and no input changes, so moving through time costs only
// a copy. Errors from the core are reported with vtkErrorMacro (the core's message) and leave an
// empty output; they never throw out of the filter.
// SPDX-License-Identifier: MIT OR Apache-2.0
#ifndef vtkEchoForecast_h
#define vtkEchoForecast_h

#include "EchoOnnxFiltersModule.h"
#include "vtkPassInputTypeAlgorithm.h"

#include <memory>
#include <string>
#include <vector>

class ECHOONNXFILTERS_EXPORT vtkEchoForecast : public vtkPassInputTypeAlgorithm
{
public:
  static vtkEchoForecast* New();
  vtkTypeMacro(vtkEchoForecast, vtkPassInputTypeAlgorithm);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  //- The bundle's directory (manifest.json and the ONNX graphs).
  vtkSetStdStringFromCharMacro(BundlePath);
  vtkGetCharFromStdStringMacro(BundlePath);
  //- "cpu", "cuda" or "cuda:N".
  vtkSetStdStringFromCharMacro(Device);
  vtkGetCharFromStdStringMacro(Device);
  //- Frames to predict after the last input frame (0: one segment of the bundle).
  vtkSetClampMacro(Horizon, int, 0, 100000);
  vtkGetMacro(Horizon, int);
  //- Sampler method ("euler", "midpoint", "rk4"; empty: the bundle's) and ODE steps (0: the bundle's).
  vtkSetStdStringFromCharMacro(SamplerMethod);
  vtkGetCharFromStdStringMacro(SamplerMethod);
  vtkSetClampMacro(SamplerSteps, int, 0, 100000);
  vtkGetMacro(SamplerSteps, int);
  //- Noise seed: the same seed, input and settings give the same frames (as the CLI's --seed).
  vtkSetClampMacro(Seed, int, 0, VTK_INT_MAX);
  vtkGetMacro(Seed, int);
  //- ONNX Runtime threads per session (0: its default).
  vtkSetClampMacro(Threads, int, 0, 1024);
  vtkGetMacro(Threads, int);

  //- The task: 0 Forecast, 1 Inverse, 2 Interpolate (the CLI's forecast, inverse, interpolate).
  enum Tasks
  {
    FORECAST = 0,
    INVERSE = 1,
    INTERPOLATE = 2
  };
  vtkSetClampMacro(Task, int, FORECAST, INTERPOLATE);
  vtkGetMacro(Task, int);
  //- Sampler method by index (0: the bundle's, 1 euler, 2 midpoint, 3 rk4), for a GUI's list.
  void SetSamplerMethodIndex(int i);
  int GetSamplerMethodIndex() const;

  //- The optional second input: the mesh whose points receive the prediction (super-resolution).
  void SetTargetMeshConnection(vtkAlgorithmOutput* output) { this->SetInputConnection(1, output); }

  //- The bundle's PDE parameters read from its manifest, one line each: "NAME in [MIN, MAX],
  //  default DEFAULT (UNITS)"; a line saying why when the bundle cannot be read or has none.
  //  Opens the bundle (kept open for the next update) when BundlePath changed.
  const char* GetParameterInfo();
  //- The same, as numbers (after GetParameterInfo or an update): names, ranges and defaults.
  int GetNumberOfBundleParameters() const;
  const char* GetBundleParameterName(int i) const;
  double GetBundleParameterMin(int i) const;
  double GetBundleParameterMax(int i) const;
  double GetBundleParameterDefault(int i) const;

  //- PDE parameters, each "NAME=VALUE" (the bundle's names and ranges: its manifest.json).
  void AddParameter(const char* nameEqualsValue);
  void ClearParameters();
  void SetParameter(int i, const char* nameEqualsValue);
  void SetNumberOfParameters(int n);
  int GetNumberOfParameters() const { return static_cast<int>(this->Parameters.size()); }

  //- Seconds the last RequestData took (for tests of the caching).
  vtkGetMacro(LastExecuteSeconds, double);
  //- Forecasts run so far (a time step change or a repeated Update reuses the last one).
  vtkGetMacro(ForecastCount, int);
  //- Times the bundle was opened (ONNX Runtime sessions) and a mesh registered (neighbour structures).
  vtkGetMacro(OpenCount, int);
  vtkGetMacro(MeshCount, int);

protected:
  vtkEchoForecast();
  ~vtkEchoForecast() override;

  int FillInputPortInformation(int port, vtkInformation* info) override;
  int RequestDataObject(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;
  int RequestInformation(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;
  int RequestUpdateExtent(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;
  int RequestData(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;

  std::string BundlePath;
  std::string Device = "cpu";
  int Horizon = 0;
  std::string SamplerMethod;
  int SamplerSteps = 0;
  int Seed = 0;
  int Threads = 0;
  int Task = FORECAST;
  std::vector<std::string> Parameters;
  std::string ParameterInfo;
  double LastExecuteSeconds = 0;
  // vtkEchoGenerate's task: one segment from the parameters alone, no fields read.
  bool GenerateTask = false;
  double StartTime = 0;
  int UseCellCentres = 0;
  int ForecastCount = 0;
  int OpenCount = 0;
  int MeshCount = 0;

private:
  vtkEchoForecast(const vtkEchoForecast&) = delete;
  void operator=(const vtkEchoForecast&) = delete;

  struct Internals;
  std::unique_ptr<Internals> Internal;
};

#endif
