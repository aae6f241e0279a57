// vtkEchoGenerate: see the header. SPDX-License-Identifier: MIT OR Apache-2.0
#include "vtkEchoGenerate.h"

#include "vtkObjectFactory.h"

vtkStandardNewMacro(vtkEchoGenerate);

void vtkEchoGenerate::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  os << indent << "StartTime: " << this->StartTime << "\n";
  os << indent << "UseCellCentres: " << this->UseCellCentres << "\n";
}
