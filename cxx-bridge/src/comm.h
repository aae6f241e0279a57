// The host's echo::Communicator as the bridge's Rust side calls it (rust:: types in and out).
// SPDX-License-Identifier: MIT OR Apache-2.0

#ifndef ECHO_ONNX_CXX_COMM_H
#define ECHO_ONNX_CXX_COMM_H

#include "echo_onnx.hpp"
#include "rust/cxx.h"

namespace echo
{
namespace ffi
{

class Comm
{
    echo::Communicator& c_;

public:
    explicit Comm(echo::Communicator& c) : c_(c) {}
    std::size_t rank() const { return c_.rank(); }
    std::size_t ranks() const { return c_.ranks(); }
    rust::Vec<double> gather(rust::Slice<const double> local);
    rust::Vec<double> broadcast(rust::Slice<const double> data);
};

} // namespace ffi
} // namespace echo

#endif
