"""Python side of echo-onnx.

- `testbundle`: small ECHO bundles with random weights and the real graph signatures (for tests).
- `example`: the shipped analytic 2D vorticity example (VTK XML series).
- `vtkxml`: VTK XML UnstructuredGrid / .pvd reader and writer.
- `reference`: a numpy + onnxruntime reference of the runtime's forecast pipeline.
- `noise`: the SplitMix64 normal generator shared bit for bit with the runtime.
"""
