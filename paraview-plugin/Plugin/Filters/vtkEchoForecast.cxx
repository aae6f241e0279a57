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
  std::vector<double> Times;
  std::vector<std::vector<double>> Frames;
};

vtkEchoForecast::vtkEchoForecast()
  : Internal(new Internals)
{
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

int vtkEchoForecast::FillInputPortInformation(int, vtkInformation* info)
{
  info->Set(vtkAlgorithm::INPUT_REQUIRED_DATA_TYPE(), "vtkDataSet");
  return 1;
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
    std::size_t context = this->GenerateTask ? 0 : s.context_frames();
    if (!in.InputTimes.empty() && in.InputTimes.size() < context)
    {
      std::ostringstream m;
      m << "the input has " << in.InputTimes.size() << " time step(s); the bundle's forecast observes "
        << context << " (its context frames)";
      throw std::runtime_error(m.str());
    }
    in.ContextTimes.assign(in.InputTimes.end() - std::min(in.InputTimes.size(), context), in.InputTimes.end());
    double last = in.InputTimes.empty() ? 0.0 : in.InputTimes.back();
    std::size_t h = this->Horizon > 0 ? static_cast<std::size_t>(this->Horizon) : s.frames() - context;
    if (this->GenerateTask)
    {
      h = s.frames(); // one segment, frames at StartTime + k dt
    }
    std::vector<double> times(h);
    for (std::size_t k = 0; k < h; ++k)
    {
      times[k] = this->GenerateTask ? this->StartTime + static_cast<double>(k) * s.dt()
                                    : last + static_cast<double>(k + 1) * s.dt();
    }
    outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_STEPS(), times.data(), static_cast<int>(h));
    double range[2] = { times.front(), times.back() };
    outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_RANGE(), range, 2);
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
    if (in.Frames.empty() || key.str() != in.ResultKey || xyz != in.ResultLocations ||
      in.Snapshots != in.ResultContext)
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
      in.Frames.assign(frames, std::vector<double>(n * c));
      for (std::size_t k = 0; k < frames; ++k)
      {
        s.prediction(k, in.Frames[k].data());
      }
      in.ResultKey = key.str();
      in.ResultLocations = xyz;
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
    output->CopyStructure(input);
    vtkDataSetAttributes* fd = in.Cells ? static_cast<vtkDataSetAttributes*>(output->GetCellData())
                                        : static_cast<vtkDataSetAttributes*>(output->GetPointData());
    offset = 0;
    for (const auto& f : fields)
    {
      int nc = f.components == 2 ? 3 : static_cast<int>(f.components);
      vtkNew<vtkDoubleArray> a;
      a->SetName(f.name.c_str());
      a->SetNumberOfComponents(nc);
      a->SetNumberOfTuples(static_cast<vtkIdType>(n));
      for (std::size_t i = 0; i < n; ++i)
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
  for (const auto& p : this->Parameters)
  {
    os << indent << "Parameter: " << p << "\n";
  }
}
