# SPDX-License-Identifier: MIT OR Apache-2.0
"""OpenFOAM side of the cylinder-wake bundle (issue #10): the case generator (2D laminar flow past a
circular cylinder, pimpleFoam, Reynolds number as parameter), the training-data export, Cl/Cd of
arbitrary fields with OpenFOAM's own forceCoeffs, shedding metrics and the warm-start measurement.

Command line: python -m echo_onnx.cylinder --help. Runs OpenFOAM (v1912) as external processes only;
nothing here links OpenFOAM.
"""
