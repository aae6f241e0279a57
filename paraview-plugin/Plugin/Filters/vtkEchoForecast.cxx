// vtkEchoForecast: see the header. SPDX-License-Identifier: MIT OR Apache-2.0
#include "vtkEchoForecast.h"

#include "echo_onnx.hpp"

#include "vtkCell.h"
#include "vtkCellData.h"
#include "vtkDataArray.h"
#include "vtkDataSet.h"
#include "vtkDataSetAttributes.h"
#include "vtkDoubleArray.h"
#include "vtkIdList.h"
#include "vtkInformation.h"
#include "vtkInformationVector.h"
#include "vtkObjectFactory.h"
#include "vtkPointData.h"
#include "vtkStreamingDemandDrivenPipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <set>
#include <sstream>

vtkStandardNewMacro(vtkEchoForecast);

struct vtkEchoForecast::Internals
{
  std::unique_ptr<echo::Surrogate> S;
  std::string OpenKey;               // bundle|device|threads of S
  std::vector<double> Locations;     // xyz given to S->set_mesh
  std::vector<double> InputTimes;    // the input's TIME_STEPS (empty: not temporal)
  std::vector<double> ContextTimes;  // the input times gathered as context
  std::size_t Gathered = 0;          // context frames gathered in this pass
  std::vector<std::vector<double>> Snapshots; // gathered values, location-major
  bool Cells = false;                // fields are cell data (locations: cell centres)
  bool InfoFailed = false;           // RequestInformation reported an error already
  // The cached forecast: its key (settings, locations, context values) and frames.
  std::string ResultKey;
  std::vector<std::vector<double>> ResultContext;
  std::vector<double> ResultLocations;
  std::vector<double> ResultTarget;  // the target mesh's points of the cached frames (empty: none)
  std::vector<echo::Parameter> BundleParameters; // of the open bundle
  std::vector<double> Times;
  std::vector<std::vector<double>> Frames;
};

vtkEchoForecast::vtkEchoForecast()
  : Internal(new Internals)
{
  this->SetNumberOfInputPorts(2);
}

vtkEchoForecast::~vtkEchoForecast() = default;

void vtkEchoForecast::AddParameter(const char* p)
{
  this->Parameters.emplace_back(p ? p : "");
  this->Modified();
}

void vtkEchoForecast::ClearParameters()
{
  if (!this->Parameters.empty())
  {
    this->Parameters.clear();
    this->Modified();
  }
}

void vtkEchoForecast::SetNumberOfParameters(int n)
{
  if (n >= 0 && static_cast<std::size_t>(n) != this->Parameters.size())
  {
    this->Parameters.resize(n);
    this->Modified();
  }
}

void vtkEchoForecast::SetParameter(int i, const char* p)
{
  if (i < 0)
  {
    return;
  }
  if (static_cast<std::size_t>(i) >= this->Parameters.size())
  {
    this->Parameters.resize(i + 1);
  }
  std::string v = p ? p : "";
  if (this->Parameters[i] != v)
  {
    this->Parameters[i] = v;
    this->Modified();
  }
}

int vtkEchoForecast::FillInputPortInformation(int port, vtkInformation* info)
{
  info->Set(vtkAlgorithm::INPUT_REQUIRED_DATA_TYPE(), "vtkDataSet");
  if (port == 1)
  {
    info->Set(vtkAlgorithm::INPUT_IS_OPTIONAL(), 1);
  }
  return 1;
}

// The output has the type of the mesh it is on: the target mesh's when one is connected.
int vtkEchoForecast::RequestDataObject(
  vtkInformation* request, vtkInformationVector** inputVector, vtkInformationVector* outputVector)
{
  vtkDataObject* target = this->GetNumberOfInputPorts() > 1 && this->GetNumberOfInputConnections(1) > 0
    ? vtkDataObject::GetData(inputVector[1], 0)
    : nullptr;
  if (!target)
  {
    return this->Superclass::RequestDataObject(request, inputVector, outputVector);
  }
  vtkInformation* outInfo = outputVector->GetInformationObject(0);
  vtkDataObject* output = vtkDataObject::GetData(outInfo);
  if (!output || !output->IsA(target->GetClassName()))
  {
    vtkDataObject* o = target->NewInstance();
    outInfo->Set(vtkDataObject::DATA_OBJECT(), o);
    o->Delete();
  }
  return 1;
}

void vtkEchoForecast::SetSamplerMethodIndex(int i)
{
  static const char* const names[] = { "", "euler", "midpoint", "rk4" };
  this->SetSamplerMethod(i >= 0 && i < 4 ? names[i] : "");
}

int vtkEchoForecast::GetSamplerMethodIndex() const
{
  static const char* const names[] = { "", "euler", "midpoint", "rk4" };
  for (int i = 1; i < 4; ++i)
  {
    if (this->SamplerMethod == names[i])
    {
      return i;
    }
  }
  return 0;
}

namespace
{
// Open (or keep) the bundle's sessions; throws echo::Error.
echo::Surrogate& open(std::unique_ptr<echo::Surrogate>& s, std::string& key, const std::string& bundle,
  const std::string& device, int threads, int& opens)
{
  std::string k = bundle + "\n" + device + "\n" + std::to_string(threads);
  if (!s || key != k)
  {
    s.reset();
    key.clear();
    if (bundle.empty())
    {
      throw std::runtime_error("BundlePath is empty: set it to a bundle's directory (manifest.json, *.onnx)");
    }
    s.reset(new echo::Surrogate(bundle, device.empty() ? "cpu" : device, threads));
    key = k;
    opens++;
  }
  return *s;
}

// The dataset's arrays for the bundle's fields (point data when every field is there, else cell
// data); throws naming what is missing.
std::vector<vtkDataArray*> fieldArrays(vtkDataSet* ds, const std::vector<echo::Field>& fields, bool& cells)
{
  for (int pass = 0; pass < 2; ++pass)
  {
    vtkFieldData* fd = pass == 0 ? static_cast<vtkFieldData*>(ds->GetPointData())
                                 : static_cast<vtkFieldData*>(ds->GetCellData());
    std::vector<vtkDataArray*> arrays;
    for (const auto& f : fields)
    {
      vtkDataArray* a = fd->GetArray(f.name.c_str());
      if (!a)
      {
        break;
      }
      int nc = a->GetNumberOfComponents();
      if (!(static_cast<std::size_t>(nc) == f.components || (f.components == 2 && nc == 3)))
      {
        std::ostringstream m;
        m << "field '" << f.name << "' has " << nc << " components in the dataset; the bundle expects "
          << f.components;
        throw std::runtime_error(m.str());
      }
      arrays.push_back(a);
    }
    if (arrays.size() == fields.size())
    {
      cells = pass == 1;
      return arrays;
    }
  }
  std::ostringstream m;
  m << "the dataset lacks the bundle's field(s):";
  for (const auto& f : fields)
  {
    if (!ds->GetPointData()->GetArray(f.name.c_str()) && !ds->GetCellData()->GetArray(f.name.c_str()))
    {
      m << " '" << f.name << "'";
    }
  }
  m << " (as point or cell data); its point arrays:";
  for (int i = 0; i < ds->GetPointData()->GetNumberOfArrays(); ++i)
  {
    const char* n = ds->GetPointData()->GetArrayName(i);
    m << " '" << (n ? n : "") << "'";
  }
  m << "; its cell arrays:";
  for (int i = 0; i < ds->GetCellData()->GetNumberOfArrays(); ++i)
  {
    const char* n = ds->GetCellData()->GetArrayName(i);
    m << " '" << (n ? n : "") << "'";
  }
  m << ". Use a bundle trained on these fields, or rename the arrays (Calculator)";
  throw std::runtime_error(m.str());
}

// Locations: the points, or the cell centres as the CLI computes them (mean of unique points).
std::vector<double> locations(vtkDataSet* ds, bool cells)
{
  std::vector<double> xyz;
  if (!cells)
  {
    vtkIdType n = ds->GetNumberOfPoints();
    xyz.resize(3 * n);
    for (vtkIdType i = 0; i < n; ++i)
    {
      ds->GetPoint(i, &xyz[3 * i]);
    }
    return xyz;
  }
  vtkIdType n = ds->GetNumberOfCells();
  xyz.resize(3 * n);
  vtkNew<vtkIdList> ids;
  for (vtkIdType c = 0; c < n; ++c)
  {
    ds->GetCellPoints(c, ids);
    std::set<vtkIdType> unique;
    for (vtkIdType k = 0; k < ids->GetNumberOfIds(); ++k)
    {
      unique.insert(ids->GetId(k));
    }
    double sum[3] = { 0, 0, 0 }, p[3];
    for (vtkIdType id : unique)
    {
      ds->GetPoint(id, p);
      for (int a = 0; a < 3; ++a)
      {
        sum[a] += p[a];
      }
    }
    double m = unique.empty() ? 1.0 : static_cast<double>(unique.size());
    for (int a = 0; a < 3; ++a)
    {
      xyz[3 * c + a] = sum[a] / m;
    }
  }
  return xyz;
}
} // namespace

const char* vtkEchoForecast::GetParameterInfo()
{
  auto& in = *this->Internal;
  std::ostringstream text;
  if (this->BundlePath.empty())
  {
    text << "(set BundlePath: the bundle's parameters are read from its manifest.json)";
  }
  else
  {
    try
    {
      echo::Surrogate& s = open(in.S, in.OpenKey, this->BundlePath, this->Device, this->Threads, this->OpenCount);
      in.BundleParameters = s.parameter_info();
      if (in.BundleParameters.empty())
      {
        text << "bundle '" << s.name() << "' takes no parameters";
      }
      for (std::size_t i = 0; i < in.BundleParameters.size(); ++i)
      {
        const auto& p = in.BundleParameters[i];
        text << (i ? "\n" : "") << p.name << " in [" << p.min << ", " << p.max << "], default " << p.default_value;
        if (!p.units.empty())
        {
          text << " (" << p.units << ")";
        }
      }
    }
    catch (const std::exception& e)
    {
      in.S.reset();
      in.OpenKey.clear();
      in.BundleParameters.clear();
      text << "(the bundle cannot be opened: " << e.what() << ")";
    }
  }
  this->ParameterInfo = text.str();
  return this->ParameterInfo.c_str();
}

int vtkEchoForecast::GetNumberOfBundleParameters() const
{
  return static_cast<int>(this->Internal->BundleParameters.size());
}

const char* vtkEchoForecast::GetBundleParameterName(int i) const
{
  const auto& p = this->Internal->BundleParameters;
  return i >= 0 && static_cast<std::size_t>(i) < p.size() ? p[i].name.c_str() : nullptr;
}

double vtkEchoForecast::GetBundleParameterMin(int i) const
{
  const auto& p = this->Internal->BundleParameters;
  return i >= 0 && static_cast<std::size_t>(i) < p.size() ? p[i].min : 0.0;
}

double vtkEchoForecast::GetBundleParameterMax(int i) const
{
  const auto& p = this->Internal->BundleParameters;
  return i >= 0 && static_cast<std::size_t>(i) < p.size() ? p[i].max : 0.0;
}

double vtkEchoForecast::GetBundleParameterDefault(int i) const
{
  const auto& p = this->Internal->BundleParameters;
  return i >= 0 && static_cast<std::size_t>(i) < p.size() ? p[i].default_value : 0.0;
}

int vtkEchoForecast::RequestInformation(
  vtkInformation*, vtkInformationVector** inputVector, vtkInformationVector* outputVector)
{
  auto& in = *this->Internal;
  vtkInformation* inInfo = inputVector[0]->GetInformationObject(0);
  vtkInformation* outInfo = outputVector->GetInformationObject(0);
  in.InputTimes.clear();
  if (inInfo->Has(vtkStreamingDemandDrivenPipeline::TIME_STEPS()))
  {
    const double* t = inInfo->Get(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
    in.InputTimes.assign(t, t + inInfo->Length(vtkStreamingDemandDrivenPipeline::TIME_STEPS()));
  }
  outInfo->Remove(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  outInfo->Remove(vtkStreamingDemandDrivenPipeline::TIME_RANGE());
  in.InfoFailed = false;
  if (this->BundlePath.empty())
  {
    return 1; // not set yet (a new ParaView proxy): RequestData says what is missing
  }
  try
  {
    echo::Surrogate& s = open(in.S, in.OpenKey, this->BundlePath, this->Device, this->Threads, this->OpenCount);
    in.BundleParameters = s.parameter_info();
    const int task = this->GenerateTask ? FORECAST : this->Task;
    const std::size_t frames = s.frames();
    const double dt = s.dt();
    // The input time steps the task observes: the context frames (forecast), the last frames - 1
    // (inverse, as the CLI observes them), or all of them (interpolation, in one segment).
    std::size_t context = this->GenerateTask ? 0 : s.context_frames();
    if (task == INVERSE)
    {
      context = std::min(in.InputTimes.size(), frames - 1);
    }
    else if (task == INTERPOLATE)
    {
      context = in.InputTimes.size();
    }
    if (!in.InputTimes.empty() && in.InputTimes.size() < context)
    {
      std::ostringstream m;
      m << "the input has " << in.InputTimes.size() << " time step(s); the bundle's forecast observes "
        << context << " (its context frames)";
      throw std::runtime_error(m.str());
    }
    in.ContextTimes.assign(in.InputTimes.end() - std::min(in.InputTimes.size(), context), in.InputTimes.end());
    // The predicted frames' times, as the core computes them (a non-temporal input is at t = 0).
    std::vector<double> observed = in.ContextTimes.empty() ? std::vector<double>{ 0.0 } : in.ContextTimes;
    std::vector<double> times;
    if (this->GenerateTask)
    {
      for (std::size_t k = 0; k < frames; ++k) // one segment, frames at StartTime + k dt
      {
        times.push_back(this->StartTime + static_cast<double>(k) * dt);
      }
    }
    else if (task == INVERSE)
    {
      const std::size_t generated = frames - std::min(observed.size(), frames - 1);
      for (std::size_t k = 0; k < generated; ++k)
      {
        times.push_back(observed.front() - static_cast<double>(generated - k) * dt);
      }
    }
    else if (task == INTERPOLATE)
    {
      std::vector<bool> seen(frames, false);
      long last = -1;
      for (double t : observed)
      {
        const double k = std::round((t - observed.front()) / dt);
        if (k >= 0 && k < static_cast<double>(frames))
        {
          seen[static_cast<std::size_t>(k)] = true;
          last = std::max(last, static_cast<long>(k));
        }
      }
      for (long k = 0; k < last; ++k)
      {
        if (!seen[static_cast<std::size_t>(k)])
        {
          times.push_back(observed.front() + static_cast<double>(k) * dt);
        }
      }
    }
    else
    {
      const std::size_t h = this->Horizon > 0 ? static_cast<std::size_t>(this->Horizon) : frames - context;
      for (std::size_t k = 0; k < h; ++k)
      {
        times.push_back(observed.back() + static_cast<double>(k + 1) * dt);
      }
    }
    // No frame to fill (or off the time lattice): RequestData reports the core's reason.
    if (!times.empty())
    {
      outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_STEPS(), times.data(), static_cast<int>(times.size()));
      double range[2] = { times.front(), times.back() };
      outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_RANGE(), range, 2);
    }
  }
  catch (const std::exception& e)
  {
    vtkErrorMacro(<< e.what());
    in.ContextTimes.clear();
    in.InfoFailed = true;
    in.S.reset();
    in.OpenKey.clear();
  }
  in.Gathered = 0;
  return 1;
}

int vtkEchoForecast::RequestUpdateExtent(
  vtkInformation*, vtkInformationVector** inputVector, vtkInformationVector*)
{
  auto& in = *this->Internal;
  vtkInformation* inInfo = inputVector[0]->GetInformationObject(0);
  if (!in.ContextTimes.empty())
  {
    inInfo->Set(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP(),
      in.ContextTimes[std::min(in.Gathered, in.ContextTimes.size() - 1)]);
  }
  else
  {
    inInfo->Remove(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP());
  }
  return 1;
}

int vtkEchoForecast::RequestData(
  vtkInformation* request, vtkInformationVector** inputVector, vtkInformationVector* outputVector)
{
  auto& in = *this->Internal;
  auto start = std::chrono::steady_clock::now();
  vtkDataSet* input = vtkDataSet::GetData(inputVector[0], 0);
  vtkDataSet* output = vtkDataSet::GetData(outputVector, 0);
  vtkInformation* outInfo = outputVector->GetInformationObject(0);
  // The optional target mesh: the prediction at its points instead of the input's locations.
  vtkDataSet* target = this->GetNumberOfInputPorts() > 1 && this->GetNumberOfInputConnections(1) > 0
    ? vtkDataSet::GetData(inputVector[1], 0)
    : nullptr;
  if (!input || !output)
  {
    return 1;
  }
  if (in.InfoFailed)
  {
    output->Initialize(); // the error is reported already
    return 1;
  }
  try
  {
    echo::Surrogate& s = open(in.S, in.OpenKey, this->BundlePath, this->Device, this->Threads, this->OpenCount);
    std::vector<echo::Field> fields = s.fields();
    std::size_t c = s.channels();
    std::vector<vtkDataArray*> arrays;
    if (this->GenerateTask)
    {
      in.Cells = this->UseCellCentres != 0; // a source on the mesh: no fields to read
    }
    else
    {
      arrays = fieldArrays(input, fields, in.Cells);
    }
    std::vector<double> xyz = locations(input, in.Cells);
    std::size_t n = xyz.size() / 3;

    // This frame's values, location-major, the bundle's channel order.
    std::vector<double> values(this->GenerateTask ? 0 : n * c);
    std::size_t offset = 0;
    for (std::size_t f = 0; f < arrays.size(); ++f)
    {
      for (std::size_t i = 0; i < n; ++i)
      {
        for (std::size_t k = 0; k < fields[f].components; ++k)
        {
          values[i * c + offset + k] = arrays[f]->GetComponent(static_cast<vtkIdType>(i), static_cast<int>(k));
        }
      }
      offset += fields[f].components;
    }
    if (in.Gathered == 0)
    {
      in.Snapshots.clear();
    }
    in.Snapshots.push_back(std::move(values));
    in.Gathered++;
    if (in.Gathered < in.ContextTimes.size())
    {
      request->Set(vtkStreamingDemandDrivenPipeline::CONTINUE_EXECUTING(), 1);
      return 1;
    }
    request->Remove(vtkStreamingDemandDrivenPipeline::CONTINUE_EXECUTING());
    in.Gathered = 0;
    std::vector<double> ctxTimes = in.ContextTimes;
    if (ctxTimes.empty())
    {
      ctxTimes.push_back(0.0);
    }

    // The forecast, unless the cached one has the same settings, mesh and context.
    std::ostringstream key;
    key << this->Horizon << '\n' << this->SamplerMethod << '\n' << this->SamplerSteps << '\n' << this->Seed;
    for (const auto& p : this->Parameters)
    {
      key << '\n' << p;
    }
    for (double t : ctxTimes)
    {
      key << '\n' << t;
    }
    key << '\n' << in.OpenKey << '\n' << in.Cells << '\n' << this->GenerateTask << '\n' << this->StartTime;
    key << '\n' << this->Task;
    const std::vector<double> targetXyz = target ? locations(target, false) : std::vector<double>();
    if (target && targetXyz.empty())
    {
      throw std::runtime_error("the target mesh (second input) has no points");
    }
    const std::size_t nOut = target ? targetXyz.size() / 3 : n;
    if (in.Frames.empty() || key.str() != in.ResultKey || xyz != in.ResultLocations ||
      in.Snapshots != in.ResultContext || targetXyz != in.ResultTarget)
    {
      in.Frames.clear();
      in.ResultKey.clear();
      if (xyz != in.Locations || s.size() != n)
      {
        in.Locations.clear();
        s.set_mesh(xyz.data(), n); // builds and caches the neighbour structures
        this->MeshCount++;
        in.Locations = xyz;
      }
      s.set_sampler(static_cast<std::size_t>(this->SamplerSteps), this->SamplerMethod);
      std::vector<std::string> params;
      for (const auto& p : this->Parameters)
      {
        if (!p.empty())
        {
          params.push_back(p);
        }
      }
      s.set_parameters(params);
      s.set_seed(static_cast<std::uint64_t>(this->Seed));
      s.clear_snapshots(); // the same context again: the core wants increasing times
      std::size_t frames = 0;
      if (this->GenerateTask)
      {
        frames = s.generate(this->StartTime);
      }
      else if (this->Task == INVERSE || this->Task == INTERPOLATE)
      {
        std::vector<double> all;
        all.reserve(in.Snapshots.size() * n * c);
        for (const auto& v : in.Snapshots)
        {
          all.insert(all.end(), v.begin(), v.end());
        }
        std::vector<double> observed(ctxTimes.begin(), ctxTimes.begin() + in.Snapshots.size());
        frames = this->Task == INVERSE ? s.inverse(observed, all.data()) : s.interpolate(observed, all.data());
      }
      else
      {
        for (std::size_t k = 0; k < in.Snapshots.size(); ++k)
        {
          s.push_snapshot(ctxTimes[k], in.Snapshots[k].data());
        }
        frames = s.forecast(static_cast<std::size_t>(this->Horizon));
      }
      this->ForecastCount++;
      in.Times = s.predicted_times();
      in.Frames.assign(frames, std::vector<double>(nOut * c));
      if (target)
      {
        // Every frame at the target's points at once (its evaluation structures built once).
        std::vector<double> all(frames * nOut * c);
        s.predictions_at(targetXyz.data(), nOut, all.data());
        for (std::size_t k = 0; k < frames; ++k)
        {
          std::copy(all.begin() + k * nOut * c, all.begin() + (k + 1) * nOut * c, in.Frames[k].begin());
        }
      }
      else
      {
        for (std::size_t k = 0; k < frames; ++k)
        {
          s.prediction(k, in.Frames[k].data());
        }
      }
      in.ResultKey = key.str();
      in.ResultLocations = xyz;
      in.ResultTarget = targetXyz;
      in.ResultContext = in.Snapshots;
    }

    // The frame at the requested time (the nearest predicted one).
    std::size_t frame = in.Frames.size() - 1;
    if (outInfo->Has(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP()) && !in.Times.empty())
    {
      double t = outInfo->Get(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP());
      frame = 0;
      for (std::size_t k = 1; k < in.Times.size(); ++k)
      {
        if (std::fabs(in.Times[k] - t) < std::fabs(in.Times[frame] - t))
        {
          frame = k;
        }
      }
    }
    if (in.Frames.empty())
    {
      throw std::runtime_error("the task predicted no frame");
    }
    output->CopyStructure(target ? target : input);
    const bool cellData = in.Cells && !target; // a target mesh gets point data, as the CLI's --query
    vtkDataSetAttributes* fd = cellData ? static_cast<vtkDataSetAttributes*>(output->GetCellData())
                                        : static_cast<vtkDataSetAttributes*>(output->GetPointData());
    offset = 0;
    for (const auto& f : fields)
    {
      int nc = f.components == 2 ? 3 : static_cast<int>(f.components);
      vtkNew<vtkDoubleArray> a;
      a->SetName(f.name.c_str());
      a->SetNumberOfComponents(nc);
      a->SetNumberOfTuples(static_cast<vtkIdType>(nOut));
      for (std::size_t i = 0; i < nOut; ++i)
      {
        for (int k = 0; k < nc; ++k)
        {
          double v = static_cast<std::size_t>(k) < f.components ? in.Frames[frame][i * c + offset + k] : 0.0;
          a->SetComponent(static_cast<vtkIdType>(i), k, v);
        }
      }
      fd->AddArray(a);
      if (nc == 1 && offset == 0)
      {
        fd->SetActiveScalars(f.name.c_str());
      }
      offset += f.components;
    }
    output->GetInformation()->Set(vtkDataObject::DATA_TIME_STEP(), in.Times[frame]);
  }
  catch (const std::exception& e)
  {
    in.Gathered = 0;
    request->Remove(vtkStreamingDemandDrivenPipeline::CONTINUE_EXECUTING());
    vtkErrorMacro(<< e.what());
    output->Initialize();
    // The core may leave the model unusable after a failure: open it again next time.
    in.S.reset();
    in.OpenKey.clear();
    in.Frames.clear();
    in.Locations.clear();
  }
  this->LastExecuteSeconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 1;
}

void vtkEchoForecast::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  os << indent << "BundlePath: " << this->BundlePath << "\n";
  os << indent << "Device: " << this->Device << "\n";
  os << indent << "Horizon: " << this->Horizon << "\n";
  os << indent << "SamplerMethod: " << this->SamplerMethod << "\n";
  os << indent << "SamplerSteps: " << this->SamplerSteps << "\n";
  os << indent << "Seed: " << this->Seed << "\n";
  os << indent << "Threads: " << this->Threads << "\n";
  os << indent << "Task: " << this->Task << "\n";
  for (const auto& p : this->Parameters)
  {
    os << indent << "Parameter: " << p << "\n";
  }
}
