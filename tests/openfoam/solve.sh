# Sourced by the OpenFOAM test scripts (tests/openfoam/run.sh, tests/cfd-meshes/run.sh).
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# solve RANKS: run scalarTransportFoam on the case in the current directory, serially (RANKS 1) or
# decomposed on RANKS MPI ranks (then reconstructed), its output in log.solver; the exit status
# goes to ./rc (and is returned) so that a failing run is a result the checks look at, not the
# end of the script.
solve() {
  local ranks=$1 rc=0
  if [ "$ranks" = 1 ]; then
    scalarTransportFoam >log.solver 2>&1 || rc=$?
  else
    decomposePar -force >log.decomposePar 2>&1
    mpirun -np "$ranks" --allow-run-as-root --oversubscribe -x LD_LIBRARY_PATH -x WM_PROJECT_DIR \
      scalarTransportFoam -parallel >log.solver 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then reconstructPar >log.reconstructPar 2>&1; fi
  fi
  echo "$rc" >rc
  return 0
}
