//! Generates the C++ side of the bridge and compiles it, with the public facade
//! (`../include/echo_onnx.hpp`, implemented in `src/echo_onnx.cpp`), into the static library.

fn main() {
    cxx_build::bridge("src/lib.rs").file("src/echo_onnx.cpp").include("../include").std("c++14").flag_if_supported("-fPIC").compile("echo_onnx_cxx_glue");
    for f in ["src/lib.rs", "src/echo_onnx.cpp", "src/comm.h", "../include/echo_onnx.hpp"] {
        println!("cargo:rerun-if-changed={f}");
    }
}
