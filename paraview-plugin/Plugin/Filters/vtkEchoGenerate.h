// vtkEchoGenerate: an echo-onnx surrogate as a VTK source on a given mesh. The input gives only the
// mesh (its points, or its cell centres with UseCellCentres); the output is that mesh with one
// generated segment of the bundle's fields (conditioned on the PDE parameters, else unconditional),
// one time step per frame at StartTime + k dt. Settings, caching and errors as vtkEchoForecast
// (Horizon and Task are ignored: one segment; the input is the mesh, so there is no target input).
// SPDX-License-Identifier: MIT OR Apache-2.0
#ifndef vtkEchoGenerate_h
#define vtkEchoGenerate_h

#include "EchoOnnxFiltersModule.h"
#include "vtkEchoForecast.h"

class ECHOONNXFILTERS_EXPORT vtkEchoGenerate : public vtkEchoForecast
{
public:
  static vtkEchoGenerate* New();
  vtkTypeMacro(vtkEchoGenerate, vtkEchoForecast);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  //- Time of the first generated frame (the CLI's --t0).
  vtkSetMacro(StartTime, double);
  vtkGetMacro(StartTime, double);
  //- 0: fields at the mesh's points (point data); 1: at its cell centres (cell data).
  vtkSetClampMacro(UseCellCentres, int, 0, 1);
  vtkGetMacro(UseCellCentres, int);

protected:
  // The input is the mesh to generate on already: no second (target) input, no Task.
  vtkEchoGenerate()
  {
    this->GenerateTask = true;
    this->SetNumberOfInputPorts(1);
  }
  ~vtkEchoGenerate() override = default;

private:
  vtkEchoGenerate(const vtkEchoGenerate&) = delete;
  void operator=(const vtkEchoGenerate&) = delete;
};

#endif
