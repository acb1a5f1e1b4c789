// Status: how every runtime function reports failure. No exceptions cross the
// C API, nothing asserts on bad input.
#pragma once

#include <string>
#include <utility>

namespace mpc::rt {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input from the caller (shapes, names, values)
  kInvalidPlan = 2,      // corrupt, truncated or inconsistent plan file
  kNotFound = 3,         // missing file, tensor, kernel
  kUnsupported = 4,      // valid request this build or device cannot do
  kIOError = 5,
  kOutOfMemory = 6,
  kInternal = 7,
};

class Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

#define MPC_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::mpc::rt::Status mpc_status_ = (expr);       \
    if (!mpc_status_.isOk()) return mpc_status_;  \
  } while (0)

}  // namespace mpc::rt
