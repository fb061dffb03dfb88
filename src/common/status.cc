#include "common/status.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace shoal {
namespace {

struct CodeInfo {
  Code code;
  int err;
  std::string_view name;
};

constexpr CodeInfo kStatusTable[] = {
#define SHOAL_STATUS_ROW(name, wire, err) {Code::name, err, #name},
    SHOAL_STATUS_CODES(SHOAL_STATUS_ROW)
#undef SHOAL_STATUS_ROW
};

const CodeInfo* Find(Code code) {
  for (const auto& info : kStatusTable)
    if (info.code == code) return &info;
  return nullptr;
}

}  // namespace

int ErrnoFromCode(Code code) {
  const CodeInfo* info = Find(code);
  return info ? info->err : EIO;
}

Code CodeFromErrno(int err) {
  if (err == EWOULDBLOCK) return Code::kWouldBlock;
  if (err == ENOTSUP) return Code::kNotSupported;
  for (const auto& info : kStatusTable)
    if (info.err == err) return info.code;  // the first code with that errno is the general one
  return Code::kIoError;
}

Code CodeFromWire(uint32_t wire) {
  for (const auto& info : kStatusTable)
    if (static_cast<uint32_t>(info.code) == wire) return info.code;
  return Code::kIoError;
}

std::string_view CodeName(Code code) {
  const CodeInfo* info = Find(code);
  return info ? info->name.substr(1) : "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return fmt::format("{}: {}", CodeName(code_), message_);
}

Status ErrnoStatus(int err, std::string_view what) {
  return Status(CodeFromErrno(err), fmt::format("{}: {}", what, std::strerror(err)));
}

}  // namespace shoal
